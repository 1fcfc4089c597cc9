//! Enumerations (docs/wire-protocol.md, "Enumerations") as integer newtypes: named constants for
//! the documented values, and any other value kept as it is (servers add values; a client must not
//! fail on them).

use serde::{Deserialize, Serialize};

macro_rules! int_enum {
    ($(#[$m:meta])* $name:ident { $( $(#[$cm:meta])* $c:ident = $v:literal ),* $(,)? }) => {
        $(#[$m])*
        #[derive(Serialize, Deserialize, Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[serde(transparent)]
        pub struct $name(pub i32);
        impl $name {
            $( $(#[$cm])* pub const $c: $name = $name($v); )*
            /// The constant's name, or `None` for an undocumented value.
            pub fn name(self) -> Option<&'static str> {
                match self.0 { $( $v => Some(stringify!($c)), )* _ => None }
            }
        }
        impl From<i32> for $name { fn from(v: i32) -> Self { $name(v) } }
    };
}

int_enum!(/// PayPlatform (docs/wire-protocol.md, "Platforms and trade types").
PayPlatform { /// WeChat Pay
WXPAY = 1, /// Alipay
ALIPAY = 2, /// Membership card
CARD = 3, /// Bookkeeping
RECORD = 4 });

int_enum!(/// SubPayPlatform (docs/wire-protocol.md, "Platforms and trade types").
SubPayPlatform { /// WeChat Pay
WXPAY = 100, /// Alipay
ALIPAY = 200, /// Voucher / membership card
CARD = 300, /// Bank-card bookkeeping
BANK_CARD_RECORD = 401, /// Cash bookkeeping
CASH_RECORD = 402 });

int_enum!(/// TradeType (docs/wire-protocol.md, "Platforms and trade types").
TradeType { /// Micro pay (payment code)
MICRO_PAY = 1, /// Scan-code (Native QR)
SCAN_CODE = 2, /// Official account (JSAPI)
OFFICIAL_ACCOUNT = 3, /// App
APP = 4, /// Sonic
SONIC = 5, /// Mobile web / H5
MOBILE_WEB = 6, /// Self-created
SELF_CREATED = 7, /// One-code pay
ONE_CODE = 8, /// Mini program
MINI_PROGRAM = 9 });

int_enum!(/// TerminalType (docs/wire-protocol.md, "Platforms and trade types").
TerminalType { /// Windows
WINDOWS = 1, /// Android
ANDROID = 2, /// iOS
IOS = 3, /// Linux
LINUX = 4, /// Other
OTHER = 100 });

int_enum!(/// WxpayOrderState (docs/wire-protocol.md, "Order states").
WxpayOrderState { /// Initial
INIT = 1, /// Micro pay succeeded
MICRO_PAY_SUCCESS = 2, /// Unified order paid
PAID = 3, /// Transferred to refund
REFUND = 4, /// Customer stopped paying
STOPPED = 5, /// Unified order awaiting payment
NOT_PAY = 6, /// Unified order closed
CLOSED = 7, /// Micro pay reversed
REVOKED = 8, /// Customer paying (password entry)
USER_PAYING = 9, /// Payment error
PAY_ERROR = 10, /// Void
VOID = 11, /// Being accepted
ACCEPTING = 12 });

int_enum!(/// AlipayOrderState (docs/wire-protocol.md, "Order states", current numbering).
AlipayOrderState { /// Initial
INIT = 1, /// Success
SUCCESS = 2, /// Waiting for the buyer to pay
WAIT_BUYER_PAY = 4, /// Closed or fully refunded
CLOSED = 5, /// Finished, no longer refundable
FINISHED = 6, /// Order does not exist
NOT_EXIST = 7 });

int_enum!(/// WxpayRefundOrderState (docs/wire-protocol.md, "Refund states").
WxpayRefundState { /// Initial
INIT = 1, /// Success
SUCCESS = 2, /// Failed
FAIL = 3, /// Processing
PROCESSING = 4, /// Refund to card failed, money returned to the merchant
CHANGE = 5, /// Void
VOID = 6 });

int_enum!(/// AlipayRefundOrderState (docs/wire-protocol.md, "Refund states").
AlipayRefundState { /// Initial
INIT = 1, /// Success
SUCCESS = 2, /// Failed
FAIL = 3, /// Processing
PROCESSING = 4, /// Does not exist
NOT_EXIST = 5 });

int_enum!(/// DeviceType (docs/wire-protocol.md, "Other enumerations").
DeviceType { /// Micro pay
MICRO_PAY = 1, /// Scan code
SCAN_CODE = 2, /// Both
MIXED = 3, /// Fixed QR
FIXED_QR = 4 });

int_enum!(/// QueryOrderType (docs/wire-protocol.md, "Other enumerations").
QueryOrderType { /// Orders
ORDERS = 1, /// Refunds
REFUNDS = 2, /// Both
ALL = 3 });

int_enum!(/// StatType (docs/wire-protocol.md, "Other enumerations").
StatType { /// Daily
DAY = 1, /// Monthly
MONTH = 2, /// Weekly
WEEK = 3, /// Yearly
YEAR = 4 });

int_enum!(/// ManagerType (docs/wire-protocol.md, "Other enumerations").
ManagerType { /// Sub-merchant manager
SUB_MCH = 1, /// Shop manager
SHOP = 2, /// Shop staff
STAFF = 3, /// Service-provider manager
MCH = 4, /// Not a manager
NONE = 100 });

int_enum!(/// AuthorizeTerminalType (docs/wire-protocol.md, "Platforms and trade types").
AuthorizeTerminalType { /// PC
PC = 1, /// Android
ANDROID = 2 });

int_enum!(/// EncryptType (docs/wire-protocol.md, "Other enumerations").
EncryptType { /// AES-128-GCM
AES_128_GCM = 1 });

int_enum!(/// CompressType (docs/wire-protocol.md, "Other enumerations").
CompressType { /// None
NONE = 0, /// zip
ZIP = 1, /// rar
RAR = 2, /// gzip
GZIP = 3 });

/// Whether a WeChat order state is final (docs/wire-protocol.md, "Order states").
pub fn wxpay_state_is_final(s: WxpayOrderState) -> bool {
    !matches!(
        s,
        WxpayOrderState::INIT | WxpayOrderState::NOT_PAY | WxpayOrderState::USER_PAYING | WxpayOrderState::ACCEPTING
    )
}

/// Whether an Alipay order state is final (docs/wire-protocol.md, "Order states").
pub fn alipay_state_is_final(s: AlipayOrderState) -> bool {
    !matches!(s, AlipayOrderState::INIT | AlipayOrderState::WAIT_BUYER_PAY)
}

//! The endpoint table (docs/wire-protocol.md, "Endpoints"): one row per endpoint the SDK and the
//! sandbox use.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// How a request to an endpoint is authenticated
/// (docs/wire-protocol.md, "Authentication by endpoint").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMode {
    /// HMAC authen code (`authen_info.a`) required.
    Hmac,
    /// HMAC or RSA signature (`authen_info.s`): `reverse` and `refund`.
    HmacOrSign,
    /// HMAC when the client holds a key (the security-login bootstrap,
    /// docs/c-api.md, "Login before a key is known").
    HmacIfKnown,
    /// No authentication, no envelope (`ping`).
    None,
}

macro_rules! endpoints {
    ($( $variant:ident = $path:literal, result $key:literal, iface $iface:literal, $auth:ident; )*) => {
        /// An HTTP endpoint below `https://pay.qcloud.com/cpay/`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Endpoint { $( #[doc = concat!("`", $path, "`")] $variant, )* }

        impl Endpoint {
            /// Every endpoint in the table.
            pub const ALL: &'static [Endpoint] = &[ $( Endpoint::$variant, )* ];

            /// Last path segment, e.g. `micro_pay`.
            pub fn path(self) -> &'static str { match self { $( Endpoint::$variant => $path, )* } }

            /// Name of the result object inside `response_content`.
            pub fn result_key(self) -> &'static str { match self { $( Endpoint::$variant => $key, )* } }

            /// Value of the `Interface` enum used in monitoring records
            /// (docs/wire-protocol.md, "Endpoints").
            pub fn interface(self) -> i32 { match self { $( Endpoint::$variant => $iface, )* } }

            /// Authentication the endpoint takes.
            pub fn auth(self) -> AuthMode { match self { $( Endpoint::$variant => AuthMode::$auth, )* } }

            /// Looks an endpoint up by its path segment.
            pub fn from_path(p: &str) -> Option<Endpoint> {
                match p { $( $path => Some(Endpoint::$variant), )* _ => None }
            }
        }
    };
}

endpoints! {
    MicroPay = "micro_pay", result "micro_pay", iface 100, Hmac;
    ScanCodePay = "scan_code_pay", result "scan_code_pay", iface 101, Hmac;
    QueryOrder = "query_order", result "query_order", iface 106, Hmac;
    Reverse = "reverse", result "reverse", iface 108, HmacOrSign;
    CloseOrder = "close_order", result "close_order", iface 103, Hmac;
    Refund = "refund", result "refund", iface 104, HmacOrSign;
    QueryRefundOrder = "query_refund_order", result "query_refund_order", iface 107, Hmac;
    QuerySubMchShopInfo = "query_sub_mch_shop_info", result "query_shop_info", iface 14, Hmac;
    SetSubMchShopInfo = "set_sub_mch_shop_info", result "set_shop_info", iface 13, Hmac;
    ClientOrderDetail = "client_order_detail", result "order_detail_query", iface 221, Hmac;
    ClientSubMchSalesOverview = "client_sub_mch_sales_overview", result "client_sub_mch_sales_overview", iface 224, Hmac;
    QueryIdentityMapping = "query_identity_mapping", result "query_identity_mapping", iface 213, HmacIfKnown;
    ClientInitialize = "client_initialize", result "client_initialize", iface 210, HmacIfKnown;
    ClientTryGetInitializers = "client_try_get_initializers", result "client_try_get_initializers", iface 212, HmacIfKnown;
    UploadClientMonitorInfo = "upload_client_monitor_info", result "upload_client_monitor_info", iface 202, Hmac;
    UploadClientConfInfo = "upload_client_conf_info", result "upload_client_conf_info", iface 203, Hmac;
    Ping = "ping", result "", iface 50000, None;
}

/// Ties an endpoint to its request and result structures, so the client and the server
/// can never disagree about which types go with which path.
pub trait Api {
    /// The endpoint.
    const ENDPOINT: Endpoint;
    /// The `request_content` object.
    type Request: Serialize + DeserializeOwned + Clone + std::fmt::Debug;
    /// The result object inside `response_content` (under `ENDPOINT.result_key()`).
    type Result: Serialize + DeserializeOwned + Clone + std::fmt::Debug + Default;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip_and_are_unique() {
        for e in Endpoint::ALL {
            assert_eq!(Endpoint::from_path(e.path()), Some(*e));
        }
        let mut ifaces: Vec<i32> = Endpoint::ALL.iter().map(|e| e.interface()).collect();
        ifaces.sort_unstable();
        ifaces.dedup();
        assert_eq!(ifaces.len(), Endpoint::ALL.len());
    }
}

//! Cashier-client bootstrap (docs/wire-protocol.md, "Endpoints"): query_identity_mapping,
//! client_initialize, client_try_get_initializers.

use super::enums::*;
use super::{api, wire};

wire!(
    /// Platform-side ids (`mch` condition of query_identity_mapping).
    pub struct MchCondition {
        /// Provider's platform merchant number.
        pub mch_id: String,
        /// Sub-merchant's platform merchant number.
        pub sub_mch_id: String,
        /// Shop id.
        pub shop_id: Option<String>,
    }
);

wire!(
    /// Cloud Pay ids (`out` condition of query_identity_mapping).
    pub struct OutCondition {
        /// Service-provider id.
        pub out_mch_id: String,
        /// Sub-merchant id.
        pub out_sub_mch_id: String,
        /// Shop id.
        pub out_shop_id: Option<String>,
    }
);

wire!(
    /// `query_identity_mapping` request (docs/wire-protocol.md, "query_identity_mapping"):
    /// exactly one of `mch` or `out`.
    pub struct IdentityMappingRequest {
        /// Platform-side ids.
        pub mch: Option<MchCondition>,
        /// Cloud Pay ids.
        pub out: Option<OutCondition>,
        /// PayPlatform of the `mch` ids (default WeChat Pay).
        pub pay_platform: Option<PayPlatform>,
        /// Random string.
        pub nonce_str: Option<String>,
    }
);

wire!(
    /// `query_identity_mapping` result (docs/wire-protocol.md, "query_identity_mapping").
    pub struct IdentityMappingResult {
        /// Service-provider id.
        pub out_mch_id: String,
        /// Sub-merchant id.
        pub out_sub_mch_id: String,
        /// Shop id.
        pub out_shop_id: Option<String>,
        /// Server nonce.
        pub nonce_str: Option<String>,
        /// WeChat payment-code prefixes.
        pub wx_author_codes: Vec<String>,
        /// Alipay payment-code prefixes.
        pub ali_author_codes: Vec<String>,
    }
);

wire!(
    /// `client_initialize` request (docs/wire-protocol.md, "client_initialize").
    pub struct ClientInitializeRequest {
        /// Sub-merchant id.
        pub out_sub_mch_id: String,
        /// Shop id.
        pub out_shop_id: Option<String>,
        /// 1 PC, 2 Android.
        pub authorize_terminal_type: Option<AuthorizeTerminalType>,
        /// Random string.
        pub nonce_str: Option<String>,
    }
);

wire!(
    /// `client_initialize` result (docs/wire-protocol.md, "client_initialize").
    pub struct ClientInitializeResult {
        /// Id of this login.
        pub activator: String,
        /// Polling token (kept private by the client).
        pub token: String,
        /// URL to show as a QR code.
        pub qr_code_url: String,
        /// Validity, seconds.
        pub ttl: i64,
        /// Server nonce.
        pub nonce_str: Option<String>,
    }
);

wire!(
    /// `client_try_get_initializers` request
    /// (docs/wire-protocol.md, "client_try_get_initializers").
    pub struct TryGetInitializersRequest {
        /// Sub-merchant id.
        pub out_sub_mch_id: String,
        /// Token from client_initialize.
        pub token: String,
        /// Random string.
        pub nonce_str: Option<String>,
    }
);

wire!(
    /// A manager role and the entity it applies to.
    pub struct ManagerEntity {
        /// ManagerType.
        pub manager_type: ManagerType,
        /// Entity id.
        pub out_id: Option<String>,
        /// Staff id.
        pub staff_id: Option<String>,
    }
);

wire!(
    /// Service provider of client_try_get_initializers.
    pub struct InitMchInfo {
        /// Company name.
        pub company_name: Option<String>,
        /// Service-provider id.
        pub out_mch_id: Option<String>,
        /// Merchant name.
        pub merchant_name: Option<String>,
        /// Logo, base64.
        pub logo: Option<String>,
    }
);

wire!(
    /// A configuration cipher key (AES-128-GCM).
    pub struct ClientConfigurationCipher {
        /// EncryptType.
        pub algorithm: EncryptType,
        /// The key (base64).
        pub key: String,
    }
);

wire!(
    /// Sub-merchant of client_try_get_initializers.
    pub struct InitSubMchInfo {
        /// Company name.
        pub company_name: Option<String>,
        /// Order-number prefix.
        pub cloud_cashier_id: Option<String>,
        /// Sub-merchant id.
        pub out_sub_mch_id: Option<String>,
        /// Merchant name.
        pub merchant_name: Option<String>,
        /// Keys for the encrypted client configuration.
        pub client_configuration_ciphers: Vec<ClientConfigurationCipher>,
        /// Logo, base64.
        pub logo: Option<String>,
    }
);

wire!(
    /// A device of a shop (client_try_get_initializers).
    pub struct InitDevice {
        /// Terminal id.
        pub device_id: String,
        /// DeviceType.
        pub device_type: Option<DeviceType>,
    }
);

wire!(
    /// A staff member of a shop (client_try_get_initializers).
    pub struct InitStaff {
        /// Cashier id.
        pub staff_id: String,
        /// Name.
        pub staff_name: Option<String>,
        /// Refund permission.
        pub refund_auth: Option<bool>,
    }
);

wire!(
    /// A shop visible to the client (client_try_get_initializers).
    pub struct InitShopInfo {
        /// Shop id.
        pub out_shop_id: String,
        /// Name.
        pub shop_name: Option<String>,
        /// Devices.
        pub devices: Vec<InitDevice>,
        /// Staff.
        pub staffs: Vec<InitStaff>,
    }
);

wire!(
    /// `client_try_get_initializers` result
    /// (docs/wire-protocol.md, "client_try_get_initializers").
    pub struct TryGetInitializersResult {
        /// True once an authorised person confirmed.
        pub initialization_granted: bool,
        /// Identity of the confirming user.
        pub identity: Option<String>,
        /// Staff id of that user.
        pub staff_id: Option<String>,
        /// Roles held.
        pub manager_types: Vec<ManagerType>,
        /// Role scopes.
        pub manager_entities: Vec<ManagerEntity>,
        /// Service provider.
        pub mch_info: Option<InitMchInfo>,
        /// Sub-merchant.
        pub sub_mch_info: Option<InitSubMchInfo>,
        /// Shops.
        pub shop_infos: Vec<InitShopInfo>,
        /// Server nonce.
        pub nonce_str: Option<String>,
    }
);

api!(/// `query_identity_mapping`.
QueryIdentityMapping = QueryIdentityMapping, IdentityMappingRequest => IdentityMappingResult);
api!(/// `client_initialize`.
ClientInitialize = ClientInitialize, ClientInitializeRequest => ClientInitializeResult);
api!(/// `client_try_get_initializers`.
ClientTryGetInitializers = ClientTryGetInitializers, TryGetInitializersRequest => TryGetInitializersResult);

//! Monitoring uploads (docs/wire-protocol.md, "upload_client_monitor_info";
//! docs/wire-protocol.md, "upload_client_conf_info") and ping (docs/wire-protocol.md, "ping").

use serde_json::Value;

use super::common::*;
use super::enums::*;
use super::{api, wire};

wire!(
    /// One call record (ClientIntResult, docs/wire-protocol.md, "Monitoring structures"). Never
    /// holds payment codes or keys.
    pub struct ClientIntResult {
        /// Interface code (docs/wire-protocol.md, "Endpoints").
        pub interface: i32,
        /// Reply status (or a local code for transport failures).
        pub status: i32,
        /// Short description.
        pub description: String,
        /// Milliseconds.
        pub time_cost: i64,
        /// Unix seconds.
        pub start_time: i64,
        /// Log lines (string or string array on the wire).
        pub logs: Option<Value>,
        /// Server log id.
        pub log_id: i64,
        /// Base URL used, e.g. `https://pay.qcloud.com/cpay`.
        pub domain_name: String,
    }
);

wire!(
    /// UncompressedMonitorInfo (docs/wire-protocol.md, "upload_client_monitor_info").
    pub struct UncompressedMonitorInfo {
        /// Call records.
        pub client_int_results: Vec<ClientIntResult>,
        /// JSON text describing the machine.
        pub machine_info: String,
    }
);

wire!(
    /// `upload_client_monitor_info` request
    /// (docs/wire-protocol.md, "upload_client_monitor_info").
    pub struct MonitorInfoRequest {
        /// Service-provider id.
        pub out_mch_id: String,
        /// Sub-merchant id.
        pub out_sub_mch_id: String,
        /// Shop id.
        pub out_shop_id: String,
        /// The terminal.
        pub order_client: OrderClient,
        /// Reporting interval, seconds.
        pub interval: i64,
        /// Whether the payload is compressed.
        pub is_compress: bool,
        /// CompressType (with is_compress).
        pub compress_type: Option<CompressType>,
        /// Compressed payload.
        pub compressed_monitor_info: Option<String>,
        /// Plain payload.
        pub uncompressed_monitor_info: Option<UncompressedMonitorInfo>,
        /// Random string.
        pub nonce_str: String,
    }
);

wire!(
    /// `upload_client_monitor_info` result (docs/wire-protocol.md, "upload_client_monitor_info").
    pub struct MonitorInfoResult {
        /// Server nonce.
        pub nonce_str: Option<String>,
        /// Desired upload interval in seconds; 0 = keep.
        pub interval: i64,
    }
);

wire!(
    /// `upload_client_conf_info` request (docs/wire-protocol.md, "upload_client_conf_info").
    pub struct ConfInfoRequest {
        /// Service-provider id.
        pub out_mch_id: String,
        /// Sub-merchant id.
        pub out_sub_mch_id: String,
        /// Shop id.
        pub out_shop_id: String,
        /// The terminal.
        pub order_client: OrderClient,
        /// JSON text describing the machine.
        pub machine_info: String,
        /// Random string.
        pub nonce_str: String,
    }
);

wire!(
    /// `ping` reply (docs/wire-protocol.md, "ping"): a plain object, not an envelope.
    pub struct PingReply {
        /// `ok`.
        pub description: String,
        /// 0.
        pub status: i32,
        /// Server Unix seconds.
        pub timestamp: i64,
    }
);

api!(/// `upload_client_monitor_info`.
UploadClientMonitorInfo = UploadClientMonitorInfo, MonitorInfoRequest => MonitorInfoResult);
api!(/// `upload_client_conf_info`.
UploadClientConfInfo = UploadClientConfInfo, ConfInfoRequest => super::trade::NonceResult);

//! Merchant and shop information (docs/wire-protocol.md, "query_sub_mch_shop_info";
//! docs/wire-protocol.md, "set_sub_mch_shop_info").

use super::common::*;
use super::{api, wire};

wire!(
    /// `query_sub_mch_shop_info` request (docs/wire-protocol.md, "query_sub_mch_shop_info").
    pub struct QueryShopInfoRequest {
        /// Service-provider id.
        pub out_mch_id: String,
        /// Sub-merchant id.
        pub out_sub_mch_id: String,
        /// 1-based page.
        pub page_num: i64,
        /// Rows per page.
        pub page_size: i64,
        /// Random string.
        pub nonce_str: String,
    }
);

wire!(
    /// `query_shop_info` result (docs/wire-protocol.md, "query_sub_mch_shop_info").
    pub struct QueryShopInfoResult {
        /// Server nonce.
        pub nonce_str: Option<String>,
        /// Shops on this page.
        pub shop_infos: Vec<ShopInfo>,
        /// Shops in all.
        pub total_count: i64,
    }
);

wire!(
    /// `set_sub_mch_shop_info` request (docs/wire-protocol.md, "set_sub_mch_shop_info").
    pub struct SetShopInfoRequest {
        /// Service-provider id.
        pub out_mch_id: String,
        /// Sub-merchant id.
        pub out_sub_mch_id: String,
        /// true: replace the whole list; false: add/modify.
        pub is_all: bool,
        /// Shops.
        pub shop_infos: Vec<ShopInfo>,
        /// Random string.
        pub nonce_str: String,
    }
);

wire!(
    /// `set_shop_info` result (docs/wire-protocol.md, "set_sub_mch_shop_info"): every shop after
    /// the update. Servers send `set_shop_infos` (documented) and/or `shop_infos` (one client): both
    /// are read.
    pub struct SetShopInfoResult {
        /// Server nonce.
        pub nonce_str: Option<String>,
        /// Shops after the update.
        pub set_shop_infos: Option<Vec<ShopInfo>>,
        /// Same, under the other name.
        pub shop_infos: Option<Vec<ShopInfo>>,
    }
);

impl SetShopInfoResult {
    /// The shop list, whichever name carried it.
    pub fn shops(&self) -> &[ShopInfo] {
        self.set_shop_infos.as_deref().or(self.shop_infos.as_deref()).unwrap_or(&[])
    }
}

api!(/// `query_sub_mch_shop_info`.
QuerySubMchShopInfo = QuerySubMchShopInfo, QueryShopInfoRequest => QueryShopInfoResult);
api!(/// `set_sub_mch_shop_info`.
SetSubMchShopInfo = SetSubMchShopInfo, SetShopInfoRequest => SetShopInfoResult);

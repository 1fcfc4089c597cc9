//! Exports of the shop, listing, statistics and prefix family.

use std::ffi::{c_char, c_int};

use super::codes::*;
use super::{current, export};

/// Lists the sub-merchant's shops: `{"page_num":1,"page_size":100,"out_shop_id"?}` (the shop
/// filter is applied to the returned page). Writes `{"total_count":N,"shop_infos":[ShopInfo…]}`
/// (recommended buffer 64 KB).
/// Returns CLOUD_PAY_OK (0), CLOUD_PAY_FAIL (-1), CLOUD_PAY_UNKNOWN (-2, try again),
/// CLOUD_PAY_INTERNAL (-3: bad input, not initialised, buffer too small — errmsg gives the size).
///
/// # Safety
/// `req` NUL-terminated; `shop_info` has `length` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cloud_pay_query_shop_info(req: *const c_char, shop_info: *mut c_char, length: c_int) -> c_int {
    // SAFETY: the caller's contract, as documented above.
    unsafe {
        export(&QUERY_SHOP_INFO, Some(req), Some((shop_info, length, "shop_info")), |t| {
            current()?.merchant.query_shop_info(t).map(call_outcome)
        })
    }
}

/// Creates or replaces shops: `{"is_all":bool,"shop_infos":[{"shop_id","shop_name",
/// "device_infos":[{"device_id","device_type"}],"staff_infos":[{"staff_id","staff_name"}]}]}`;
/// `is_all` true replaces the whole list (shops not listed are deleted), false adds/modifies.
/// Writes every shop after the update as `{"total_count","shop_infos"}`.
/// Returns 0 / -1 / -2 / -3 as cloud_pay_query_shop_info.
///
/// # Safety
/// `req` NUL-terminated; `shop_info` has `length` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cloud_pay_set_shop_info(req: *const c_char, shop_info: *mut c_char, length: c_int) -> c_int {
    // SAFETY: the caller's contract, as documented above.
    unsafe {
        export(&SET_SHOP_INFO, Some(req), Some((shop_info, length, "shop_info")), |t| {
            current()?.merchant.set_shop_info(t).map(call_outcome)
        })
    }
}

/// Lists orders and refunds: `{"page_num","page_size","pay_platform"?,"query_order_type"?
/// (1 orders, 2 refunds, 3 both — default),"query_cashier_type"?,"start_time"?,"end_time"?,
/// "out_shop_id"?,"staff_id"? (with out_shop_id)}`. Writes the server's `order_detail_query`
/// object: `{"total_count","order_details":[{"shop_info","shop_staff_info","receipt":{"order"|
/// "refund_order"}}]}` (about 2 KB per row). Returns 0 / -1 / -2 / -3.
///
/// # Safety
/// `req` NUL-terminated; `order_details` has `length` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cloud_pay_order_detail(
    req: *const c_char,
    order_details: *mut c_char,
    length: c_int,
) -> c_int {
    // SAFETY: the caller's contract, as documented above.
    unsafe {
        export(&ORDER_DETAIL, Some(req), Some((order_details, length, "order_details")), |t| {
            current()?.merchant.order_detail(t).map(call_outcome)
        })
    }
}

/// Sales statistics (`__stdcall` on 32-bit Windows, like the vendor's): `{"page_num",
/// "page_size","pay_platform"?,"start_time"?,"end_time"?,"out_shop_id"?: ["shop", …],
/// "stat_type"? (1 day — default, 2 month, 3 week, 4 year)}`. Writes the server's
/// `client_sub_mch_sales_overview` object `{"total_count","overview","stat_infos":[…]}`.
/// Returns 0 / -1 / -2 / -3.
///
/// # Safety
/// `req` NUL-terminated; `order_stat` has `length` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn cloud_pay_order_stat(
    req: *const c_char,
    order_stat: *mut c_char,
    length: c_int,
) -> c_int {
    // SAFETY: the caller's contract, as documented above.
    unsafe {
        export(&ORDER_STAT, Some(req), Some((order_stat, length, "order_stat")), |t| {
            current()?.merchant.order_stat(t).map(call_outcome)
        })
    }
}

/// The payment-code prefixes of WeChat Pay and Alipay:
/// `{"wx_author_code_prefix":[…],"ali_author_code_prefix":[…],"author_code_prefix":
/// [{"pay_platform":1,"prefix":[…]},{"pay_platform":2,"prefix":[…]}],"source":"server"|"public_rules"}`.
/// From the server (query_identity_mapping, cached); when it cannot be reached, the public rules
/// (WeChat 10–15, Alipay 25–30) with `"source":"public_rules"` and errmsg saying why.
/// Returns 0, or CLOUD_PAY_INTERNAL (-3: not initialised, bad buffer, buffer too small).
///
/// # Safety
/// `resp` has `length` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cloud_pay_security_author_code_prefix(resp: *mut c_char, length: c_int) -> c_int {
    // SAFETY: the caller's contract, as documented above.
    unsafe {
        export(&AUTHOR_CODE_PREFIX, None, Some((resp, length, "resp")), |_| {
            Ok(call_outcome(current()?.merchant.author_code_prefix()))
        })
    }
}

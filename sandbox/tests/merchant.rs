//! Shops, listings and statistics, identity mapping, login bootstrap, monitoring uploads.

mod common;
use cloud_pay_protocol::Authenticator;
use cloud_pay_protocol::types::*;
use cloud_pay_sandbox::{Sandbox, SandboxConfig, SandboxOptions};
use common::*;

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

#[test]
fn shop_info_query_paging_and_set_merge_and_replace() {
    let sb = start();
    let c = Client::http(&sb);
    let q = |page_num, page_size| QueryShopInfoRequest {
        out_mch_id: MCH.into(),
        out_sub_mch_id: SUB.into(),
        page_num,
        page_size,
        nonce_str: nonce(),
    };
    let r = ok(&c.call::<QuerySubMchShopInfo>(&q(1, 10)));
    assert_eq!(r.total_count, 1);
    let s = &r.shop_infos[0];
    assert_eq!(s.out_shop_id.as_deref(), Some(SHOP));
    assert_eq!(s.device_infos.as_ref().unwrap()[0].device_id, "dev01");
    assert_eq!(s.staff_infos.as_ref().unwrap()[0].staff_id, "1001");
    // Merge: add a shop, keep the existing one.
    let new_shop = ShopInfo {
        shop_id: Some("shop02".into()),
        shop_name: Some("Second".into()),
        device_infos: Some(vec![DeviceInfo { device_id: "dev02".into(), ..Default::default() }]),
        ..Default::default()
    };
    let set = |is_all, shops: Vec<ShopInfo>| SetShopInfoRequest {
        out_mch_id: MCH.into(),
        out_sub_mch_id: SUB.into(),
        is_all,
        shop_infos: shops,
        nonce_str: nonce(),
    };
    let r = ok(&c.call::<SetSubMchShopInfo>(&set(false, vec![new_shop.clone()])));
    assert_eq!(r.set_shop_infos.as_ref().unwrap().len(), 2);
    assert_eq!(r.set_shop_infos, r.shop_infos, "both names carry the list");
    let out2 = r.shops()[1].out_shop_id.clone().unwrap();
    assert_eq!(out2.len(), 20);
    // Paging.
    let p2 = ok(&c.call::<QuerySubMchShopInfo>(&q(2, 1)));
    assert_eq!((p2.total_count, p2.shop_infos.len()), (2, 1));
    assert_eq!(p2.shop_infos[0].shop_id.as_deref(), Some("shop02"));
    // Payments in the new shop are accepted.
    let mut req = micro(&no("s2"), WX_NOW, 10);
    req.pay_mch_key.out_shop_id = Some(out2.clone());
    ok(&c.call::<MicroPay>(&req));
    // Replace: only shop02 remains, with the same out_shop_id.
    let r =
        ok(&c.call::<SetSubMchShopInfo>(&set(true, vec![ShopInfo { shop_name: Some("Renamed".into()), ..new_shop }])));
    assert_eq!(r.shops().len(), 1);
    assert_eq!(r.shops()[0].out_shop_id.as_deref(), Some(out2.as_str()));
    assert_eq!(r.shops()[0].shop_name.as_deref(), Some("Renamed"));
    assert_eq!(ok(&c.call::<QuerySubMchShopInfo>(&q(1, 10))).total_count, 1);
    // Shops need shop_id and shop_name.
    assert_eq!(
        status(&c.call::<SetSubMchShopInfo>(&set(
            false,
            vec![ShopInfo { shop_name: Some("x".into()), ..Default::default() }]
        )))
        .0,
        101
    );
    assert_eq!(status(&c.call::<QuerySubMchShopInfo>(&q(0, 10))).0, 101);
}

fn detail_req(qot: i32) -> OrderDetailRequest {
    OrderDetailRequest {
        out_sub_mch_id: SUB.into(),
        query_order_type: QueryOrderType(qot),
        end_time: now() + 5,
        page_num: 1,
        page_size: 50,
        enable_overview: Some(true),
        ..Default::default()
    }
}

#[test]
fn listings_and_statistics_follow_the_payments_made() {
    let sb = start();
    sb.control().set_refund_delay_ms(0);
    let c = Client::http(&sb);
    // 2 WeChat paid (100, 200), 1 Alipay paid (300), 1 WeChat never paid (400), 1 refund of 50.
    let (a, b, d, e) = (no("a"), no("b"), no("d"), no("e"));
    ok(&c.call::<MicroPay>(&micro(&a, WX_NOW, 100)));
    ok(&c.call::<MicroPay>(&micro(&b, WX_NOW, 200)));
    ok(&c.call::<MicroPay>(&micro(&d, ALI_NOW, 300)));
    let mut other_staff = micro(&e, "139400000000000000", 400);
    other_staff.order_client.staff_id = Some("2002".into());
    other_staff.order_client.device_id = Some("dev09".into());
    ok(&c.call::<MicroPay>(&other_staff));
    let rn = no("r");
    sleep_ms(5); // rows sort by creation time (ms): keep the refund strictly newest
    ok(&c.call::<Refund>(&refund_req(&a, &rn, 100, 50)));

    let all = ok(&c.call::<ClientOrderDetail>(&detail_req(3)));
    assert_eq!(all.total_count, 5, "4 orders + 1 refund");
    let ov = all.overview.unwrap();
    assert_eq!((ov.total_count, ov.total_amount), (Some(4), Some(1000)));
    assert_eq!((ov.success_count, ov.success_amount), (Some(3), Some(600)));
    assert_eq!((ov.refund_count, ov.refund_amount), (Some(1), Some(50)));
    assert_eq!(ov.net_amount, Some(550));
    // Newest first: the refund row comes first; its order shows refunded_fee.
    let refund_row = all.order_details[0].receipt.refund_order.as_ref().expect("refund row first");
    assert_eq!(refund_row.refund_order_content.out_refund_no, rn);
    let order_a = all
        .order_details
        .iter()
        .filter_map(|d| d.receipt.order.as_ref())
        .find(|o| o.order_content.out_trade_no == a)
        .unwrap();
    assert_eq!(order_a.order_content.refunded_fee, Some(50));
    assert_eq!(order_a.order_mch.out_shop_id.as_deref(), Some(SHOP));
    assert_eq!(all.order_details[0].shop_info.as_ref().unwrap().shop_id.as_deref(), Some("shop01"));
    assert_eq!(all.order_details[0].shop_staff_info.as_ref().unwrap().staff_id, "1001");

    let orders = ok(&c.call::<ClientOrderDetail>(&detail_req(1)));
    assert_eq!(orders.total_count, 4);
    assert!(orders.order_details.iter().all(|d| d.receipt.order.is_some()));
    let refunds = ok(&c.call::<ClientOrderDetail>(&detail_req(2)));
    assert_eq!(refunds.total_count, 1);
    let ali =
        ok(&c.call::<ClientOrderDetail>(&OrderDetailRequest {
            pay_platform: Some(PayPlatform::ALIPAY),
            ..detail_req(1)
        }));
    assert_eq!(ali.total_count, 1);
    let staff = ok(&c.call::<ClientOrderDetail>(&OrderDetailRequest {
        out_shop_id: Some(SHOP.into()),
        staff_id: Some("2002".into()),
        ..detail_req(3)
    }));
    assert_eq!(staff.total_count, 1);
    let dev =
        ok(&c.call::<ClientOrderDetail>(&OrderDetailRequest { device_id: Some("dev01".into()), ..detail_req(1) }));
    assert_eq!(dev.total_count, 3);
    let page = ok(&c.call::<ClientOrderDetail>(&OrderDetailRequest { page_num: 2, page_size: 2, ..detail_req(3) }));
    assert_eq!((page.total_count, page.order_details.len()), (5, 2));
    let past =
        ok(&c.call::<ClientOrderDetail>(&OrderDetailRequest { start_time: Some(1), end_time: 1000, ..detail_req(3) }));
    assert_eq!(past.total_count, 0);

    // Sales overview: everything today, in one daily row and one yearly row.
    for stat in [1, 2, 3, 4] {
        let r = ok(&c.call::<ClientSubMchSalesOverview>(&SalesOverviewRequest {
            out_mch_id: MCH.into(),
            out_sub_mch_id: SUB.into(),
            stat_type: Some(StatType(stat)),
            ..Default::default()
        }));
        assert_eq!(r.total_count, 1, "stat_type {stat}");
        assert_eq!(r.stat_infos[0].success_amount, Some(600));
        assert_eq!(r.overview.as_ref().unwrap().refund_amount, Some(50));
        assert!(r.stat_infos[0].date.is_some());
    }
    let wx_only = ok(&c.call::<ClientSubMchSalesOverview>(&SalesOverviewRequest {
        out_mch_id: MCH.into(),
        out_sub_mch_id: SUB.into(),
        pay_platform: Some(PayPlatform::WXPAY),
        shops: Some(vec![StatShop { out_shop_id: SHOP.into(), staff_ids: Some(vec!["1001".into()]) }]),
        ..Default::default()
    }));
    let ov = wx_only.overview.unwrap();
    assert_eq!((ov.total_count, ov.success_amount, ov.refund_amount), (Some(2), Some(300), Some(50)));
}

#[test]
fn identity_mapping_by_out_ids_and_platform_ids() {
    let sb = start();
    let c = Client::http(&sb);
    let by_out = IdentityMappingRequest {
        out: Some(OutCondition { out_mch_id: MCH.into(), out_sub_mch_id: SUB.into(), out_shop_id: Some(SHOP.into()) }),
        ..Default::default()
    };
    let r = ok(&c.call::<QueryIdentityMapping>(&by_out));
    assert_eq!(r.out_sub_mch_id, SUB);
    assert_eq!(r.out_shop_id.as_deref(), Some(SHOP));
    assert_eq!(r.wx_author_codes, ["10", "11", "12", "13", "14", "15"]);
    assert_eq!(r.ali_author_codes, ["25", "26", "27", "28", "29", "30"]);
    // Platform ids, without authen_info (bootstrap endpoints accept that) and without a nonce.
    let by_mch = IdentityMappingRequest {
        mch: Some(MchCondition {
            mch_id: "1900000109".into(),
            sub_mch_id: "1900000110".into(),
            shop_id: Some("shop01".into()),
        }),
        ..Default::default()
    };
    let r = ok(&c.call_with::<QueryIdentityMapping>(&by_mch, Authenticator::None));
    assert_eq!((r.out_mch_id.as_str(), r.out_shop_id.as_deref()), (MCH, Some(SHOP)));
    let wrong = IdentityMappingRequest {
        mch: Some(MchCondition { mch_id: "1900000109".into(), sub_mch_id: "1".into(), shop_id: None }),
        ..Default::default()
    };
    assert_eq!(status(&c.call::<QueryIdentityMapping>(&wrong)).0, 101, "unknown merchant");
    let both = IdentityMappingRequest { mch: by_mch.mch.clone(), out: by_out.out.clone(), ..Default::default() };
    assert_eq!(status(&c.call::<QueryIdentityMapping>(&both)).0, 101);
    // A wrong HMAC is still rejected when one is sent.
    assert_eq!(status(&c.call_with::<QueryIdentityMapping>(&by_out, Authenticator::Hmac(b"wrong"))), (101, 7));
}

fn init(c: &Client) -> ClientInitializeResult {
    let req = ClientInitializeRequest {
        out_sub_mch_id: SUB.into(),
        out_shop_id: Some(SHOP.into()),
        authorize_terminal_type: Some(AuthorizeTerminalType::PC),
        nonce_str: None,
    };
    ok(&c.call_with::<ClientInitialize>(&req, Authenticator::None))
}

fn poll(c: &Client, token: &str) -> cloud_pay_protocol::envelope::Reply<TryGetInitializersResult> {
    c.call_with::<ClientTryGetInitializers>(
        &TryGetInitializersRequest { out_sub_mch_id: SUB.into(), token: token.into(), nonce_str: None },
        Authenticator::None,
    )
}

#[test]
fn login_approve_reject_expire() {
    let sb = start();
    let c = Client::http(&sb);
    let ctl = sb.control();
    // Approve.
    let i = init(&c);
    assert!(i.qr_code_url.contains(&i.activator) && i.qr_code_url.contains("/sandbox/console/login"));
    assert_eq!(i.ttl, 300);
    assert!(!ok(&poll(&c, &i.token)).initialization_granted);
    ctl.approve_login(&i.activator, "1001").unwrap();
    let g = ok(&poll(&c, &i.token));
    assert!(g.initialization_granted);
    assert_eq!(g.staff_id.as_deref(), Some("1001"));
    assert_eq!(g.manager_types, [ManagerType::SHOP]);
    let sub = g.sub_mch_info.unwrap();
    assert_eq!(sub.cloud_cashier_id.as_deref(), Some(PREFIX));
    assert_eq!(sub.client_configuration_ciphers[0].algorithm, EncryptType::AES_128_GCM);
    use base64::Engine as _;
    let key = base64::engine::general_purpose::STANDARD.decode(&sub.client_configuration_ciphers[0].key).unwrap();
    assert_eq!(key.len(), 16);
    assert_eq!(g.mch_info.unwrap().out_mch_id.as_deref(), Some(MCH));
    assert_eq!(g.shop_infos[0].out_shop_id, SHOP);
    assert_eq!(g.shop_infos[0].devices[0].device_id, "dev01");
    assert!(ctl.reject_login(&i.activator).is_err(), "no longer pending");
    // Reject.
    let i = init(&c);
    ctl.reject_login(&i.activator).unwrap();
    let r = poll(&c, &i.token);
    assert_eq!(status(&r).0, 104);
    assert_eq!(r.response.unwrap().description, "login rejected");
    // Expire (forced, and by ttl).
    let i = init(&c);
    ctl.expire_login(&i.activator).unwrap();
    let r = poll(&c, &i.token);
    assert_eq!(status(&r).0, 104);
    assert_eq!(r.response.unwrap().description, "QR code expired");
    assert!(ctl.approve_login(&i.activator, "1001").is_err());
    let mut cfg = SandboxConfig::demo();
    cfg.login_ttl_secs = 1;
    let short = Sandbox::start(SandboxOptions { config: cfg, ..SandboxOptions::demo() }).unwrap();
    let c2 = Client::http(&short);
    let i = init(&c2);
    assert_eq!(i.ttl, 1);
    sleep_ms(1100);
    assert_eq!(poll(&c2, &i.token).response.unwrap().description, "QR code expired");
    // Unknown token.
    assert_eq!(status(&poll(&c, "nope")).0, 104);
}

#[test]
fn monitor_and_conf_uploads_are_stored() {
    let sb = start();
    let c = Client::http(&sb);
    let req = MonitorInfoRequest {
        out_mch_id: MCH.into(),
        out_sub_mch_id: SUB.into(),
        out_shop_id: SHOP.into(),
        order_client: order_client(),
        interval: 30,
        is_compress: false,
        compress_type: None,
        compressed_monitor_info: None,
        uncompressed_monitor_info: Some(UncompressedMonitorInfo {
            client_int_results: vec![ClientIntResult {
                interface: 100,
                status: 0,
                description: "ok".into(),
                time_cost: 120,
                start_time: 1,
                logs: None,
                log_id: 7,
                domain_name: "x".into(),
            }],
            machine_info: "{\"ip\":\"127.0.0.1\"}".into(),
        }),
        nonce_str: nonce(),
    };
    let r = ok(&c.call::<UploadClientMonitorInfo>(&req));
    assert_eq!(r.interval, 60);
    let ups = sb.control().monitor_uploads();
    assert_eq!(ups.len(), 1);
    assert_eq!(ups[0]["uncompressed_monitor_info"]["client_int_results"][0]["interface"], 100);
    let conf = ConfInfoRequest {
        out_mch_id: MCH.into(),
        out_sub_mch_id: SUB.into(),
        out_shop_id: SHOP.into(),
        order_client: order_client(),
        machine_info: "{\"cpu_num\":2}".into(),
        nonce_str: nonce(),
    };
    ok(&c.call::<UploadClientConfInfo>(&conf));
    assert_eq!(sb.control().conf_uploads()[0]["machine_info"], "{\"cpu_num\":2}");
    assert_eq!(status(&c.call::<UploadClientConfInfo>(&ConfInfoRequest { out_shop_id: String::new(), ..conf })).0, 101);
}

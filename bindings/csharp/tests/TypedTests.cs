// Tests of the typed layer (CloudPayTyped.cs) against the real library and the sandbox: pay ->
// wait -> paid, a failing customer's reason, unknown stays unknown (and is never charged
// again), partial refund -> wait, scan-code pay, the Task-based variants, amounts in fen.
using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using CloudPay;
using CloudPay.Demo;

static class TypedTests
{
    static int checks, failures;

    static void Expect(bool ok, string what)
    {
        checks++;
        if (!ok) { failures++; Console.Error.WriteLine("FAILED: " + what); }
    }

    static readonly TimeSpan Fast = TimeSpan.FromMilliseconds(200);
    static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    static long ChargeCount(string no)
    {
        return DemoSupport.Int(DemoSupport.Control("charge_count", "{\"out_trade_no\":\"" + no + "\"}"), "charge_count");
    }

    /// <summary>Test cleanup: reverses an order left unknown, so that no unfinished order stays in
    /// the journal of the state dir the next program shares (its init would report it).</summary>
    static void Reverse(string no)
    {
        var r = CloudPaySdk.CancelOrder("{\"out_trade_no\":\"" + no + "\",\"trade_type\":1}");
        Expect(r.Code == Code.Ok, "cleanup: reverse " + no + ": " + r);
    }

    static void Schedule()
    {
        Expect(TypedCloudPay.WaitInterval == TimeSpan.FromSeconds(1) && TypedCloudPay.WaitTimeout == TimeSpan.FromSeconds(150) &&
               TypedCloudPay.RefundWaitTimeout == TimeSpan.FromSeconds(60), "the schedule the README documents (1 s, 150 s, 60 s)");
    }

    static void RequestJson()
    {
        string json = new MicroPayRequest { OutTradeNo = "sz0100testJ1", AuthorCode = "134567890123456789", TotalFee = 1234, Body = "咖啡 \"coffee\" 😀" }.ToJson();
        Expect(json.StartsWith("{\"out_trade_no\":\"sz0100testJ1\",\"author_code\":\"134567890123456789\",\"total_fee\":1234,\"body\":\"咖啡 \\\"coffee\\\" ", StringComparison.Ordinal),
               "micro_pay request JSON: " + json);
        Expect(!json.Contains("pay_platform") && !json.Contains("attach") && !json.Contains("null"), "null members left out: " + json);
        json = new RefundRequest { OutTradeNo = "sz0100testJ1", TotalFee = 1234, RefundFee = 617, PayPlatform = PayPlatform.Alipay }.ToJson();
        Expect(json == "{\"out_trade_no\":\"sz0100testJ1\",\"total_fee\":1234,\"refund_fee\":617,\"pay_platform\":2}", "refund request JSON, platform as its number: " + json);
    }

    static void PayWaitPartlyRefundWait()
    {
        string no = DemoSupport.OrderNo("TP");
        // 139101…: the customer pays after 1 s.
        PayResult pay = TypedCloudPay.MicroPay(new MicroPayRequest { OutTradeNo = no, AuthorCode = "139101000000000000", TotalFee = 300, Body = "tea 茶" });
        Expect(pay.Code == Code.Ok && pay.OutTradeNo == no && pay.PayPlatform == PayPlatform.WeChatPay && !pay.NothingSent, "micro_pay accepted: " + pay);
        Order order = TypedCloudPay.WaitForOrder(no, TradeType.MicroPay, Fast, Long);
        Expect(order.Code == OrderCode.Paid && order.State == OrderState.Success && order.Final, "paid, state Success: " + order);
        Expect(order.OutTradeNo == no && order.TotalFee == 300 && !string.IsNullOrEmpty(order.TransactionId), "order members: " + order.TotalFee + " " + order.TransactionId);
        Expect(ChargeCount(no) == 1, "charged once");

        string rno = no + "R1";
        CallResult refund = TypedCloudPay.Refund(new RefundRequest { OutTradeNo = no, OutRefundNo = rno, TotalFee = 300, RefundFee = 100, RefundReason = "one cup" });
        Expect(refund.Code == Code.Ok, "refund accepted: " + refund);
        Refund done = TypedCloudPay.WaitForRefund(no, rno, Fast, Long);
        Expect(done.Code == Code.Ok && done.State == RefundState.Success && done.RefundFee == 100 && done.OutRefundNo == rno && done.Final, "refund Success: " + done);

        order = TypedCloudPay.QueryOrder(no);
        Expect(order.Code == OrderCode.Closed && order.RefundedFee == 100 && order.RefundCount == 1, "partly refunded order: " + order + " " + order.RefundedFee + "/" + order.RefundCount);
        Expect(order.ErrMsg.Contains("partly refunded"), "errmsg says partly refunded: " + order.ErrMsg);
    }

    static void FailedPaymentCarriesTheReason()
    {
        string no = DemoSupport.OrderNo("TF");
        // 139300 2…: insufficient balance after 0.2 s.
        Expect(TypedCloudPay.MicroPay(new MicroPayRequest { OutTradeNo = no, AuthorCode = "139300200000000000", TotalFee = 50, Body = "tea" }).Code == Code.Ok, "micro_pay accepted");
        Order order = TypedCloudPay.WaitForOrder(no, TradeType.MicroPay, Fast, Long);
        Expect(order.Code == OrderCode.Failed && order.Final && order.ErrMsg.Contains("insufficient balance"), "failed with the reason in errmsg: " + order);
        Expect(order.TradeStateDesc != null && order.TradeStateDesc.Contains("insufficient balance"), "trade_state_desc: " + order.TradeStateDesc);
    }

    static void UnknownStaysUnknown()
    {
        string no = DemoSupport.OrderNo("TU");
        // 139400…: the customer never confirms.
        Expect(TypedCloudPay.MicroPay(new MicroPayRequest { OutTradeNo = no, AuthorCode = "139400000000000000", TotalFee = 70, Body = "tea" }).Code == Code.Ok, "micro_pay accepted");
        var clock = Stopwatch.StartNew();
        Order order = TypedCloudPay.WaitForOrder(no, TradeType.MicroPay, Fast, TimeSpan.FromSeconds(2));
        double s = clock.Elapsed.TotalSeconds;
        Expect(order.Code == OrderCode.Unknown && !order.Final, "still unknown after the window: " + order);
        Expect(s >= 1.9 && s < 10, "asked until the deadline, then stopped: " + s + " s");
        Expect(ChargeCount(no) == 0, "nothing charged while the customer has not confirmed");
        Expect(TypedCloudPay.QueryOrder(no).Code == OrderCode.Unknown, "the order is left open: asked again later, still unknown");
        Reverse(no);
    }

    static void ScanCodePay()
    {
        string no = DemoSupport.OrderNo("TS");
        PayResult r = TypedCloudPay.ScanCodePay(new ScanCodePayRequest { PayPlatform = PayPlatform.WeChatPay, OutTradeNo = no, TotalFee = 888, Body = "tea", ProductId = "tea01" });
        Expect(r.Code == Code.Ok && r.PayPlatform == PayPlatform.WeChatPay, "scan_code_pay accepted: " + r);
        Order pre = TypedCloudPay.QueryOrder(no, TradeType.ScanCode);
        Expect(pre.Code == OrderCode.Prepay && !pre.Final && !string.IsNullOrEmpty(pre.CodeUrl), "prepay with code_url: " + pre);
        Task<Order> paid = TypedCloudPay.WaitForOrderAsync(no, TradeType.ScanCode, Fast, Long);
        DemoSupport.Control("scan", "{\"out_trade_no\":\"" + no + "\",\"action\":\"Pay\"}");
        Order o = paid.GetAwaiter().GetResult();
        Expect(o.Code == OrderCode.Paid && o.TotalFee == 888, "scan-code order paid once scanned: " + o);
    }

    static void AsyncVariants()
    {
        string no = DemoSupport.OrderNo("TA");
        PayResult pay = TypedCloudPay.MicroPayAsync(new MicroPayRequest { OutTradeNo = no, AuthorCode = "139101000000000000", TotalFee = 200, Body = "async" })
            .GetAwaiter().GetResult();
        Expect(pay.Code == Code.Ok, "MicroPayAsync accepted: " + pay);
        Task<Order> wait = TypedCloudPay.WaitForOrderAsync(no, TradeType.MicroPay, Fast, Long);
        Expect(!wait.IsCompleted, "WaitForOrderAsync returns before the customer has paid");
        Order order = wait.GetAwaiter().GetResult();
        Expect(order.Code == OrderCode.Paid && order.TotalFee == 200, "WaitForOrderAsync: paid " + order);
        Expect(TypedCloudPay.QueryOrderAsync(no).GetAwaiter().GetResult().Code == OrderCode.Paid, "QueryOrderAsync");

        string rno = no + "R1";
        CallResult refund = TypedCloudPay.RefundAsync(new RefundRequest { OutTradeNo = no, OutRefundNo = rno, TotalFee = 200, RefundFee = 200 }).GetAwaiter().GetResult();
        Expect(refund.Code == Code.Ok, "RefundAsync accepted: " + refund);
        Refund done = TypedCloudPay.WaitForRefundAsync(no, rno, Fast, Long).GetAwaiter().GetResult();
        Expect(done.State == RefundState.Success && done.RefundFee == 200, "WaitForRefundAsync: " + done);
        Expect(TypedCloudPay.QueryRefundAsync(no).GetAwaiter().GetResult().OutRefundNo == rno, "QueryRefundAsync, newest refund");
        Order full = TypedCloudPay.QueryOrder(no);
        Expect(full.Code == OrderCode.Closed && full.ErrMsg.Contains("fully refunded") && full.RefundedFee == 200, "fully refunded: " + full);

        // A cancelled wait ends at once with OperationCanceledException, long before its timeout.
        string never = DemoSupport.OrderNo("TA");
        Expect(TypedCloudPay.MicroPay(new MicroPayRequest { OutTradeNo = never, AuthorCode = "139400000000000000", TotalFee = 70, Body = "tea" }).Code == Code.Ok, "micro_pay accepted");
        var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        var clock = Stopwatch.StartNew();
        Task<Order> cancelled = TypedCloudPay.WaitForOrderAsync(never, TradeType.MicroPay, Fast, Long, cts.Token);
        bool threw = false;
        try { cancelled.GetAwaiter().GetResult(); } catch (OperationCanceledException) { threw = true; }
        Expect(threw && cancelled.IsCanceled && clock.Elapsed < TimeSpan.FromSeconds(5), "cancelled wait: canceled after " + clock.Elapsed.TotalSeconds + " s");
        Reverse(never);
    }

    static void AmountsAreIntegersInFen()
    {
        Expect(TypedCloudPay.Fen(12.34m) == 1234 && TypedCloudPay.Fen(12m) == 1200 && TypedCloudPay.Fen(0.01m) == 1, "Fen(yuan)");
        string msg = "";
        try { TypedCloudPay.Fen(12.345m); } catch (ArgumentException e) { msg = e.Message; }
        Expect(msg.Contains("amounts are integers in fen (1234 = 12.34 CNY)") && msg.Contains("12.345"), "a fraction of a fen refused: " + msg);
        // The raw call with a decimal amount: the SDK's own words come through the binding.
        var raw = CloudPaySdk.MicroPay("{\"out_trade_no\":\"" + DemoSupport.OrderNo("TD") + "\",\"author_code\":\"134567890123456789\",\"total_fee\":12.34,\"body\":\"tea\"}");
        Expect(raw.Code == Code.Fail && raw.ErrMsg.Contains("amounts are integers in fen (1234 = 12.34 CNY)"), "decimal total_fee refused by the SDK: " + raw);
        Expect(typeof(MicroPayRequest).GetProperty("TotalFee").PropertyType == typeof(long) &&
               typeof(RefundRequest).GetProperty("RefundFee").PropertyType == typeof(long), "typed amounts are long fen (a decimal does not compile)");
    }

    static void ResultsTolerateOddOutput()
    {
        var odd = new Result<OrderCode> { Code = OrderCode.Paid, Output = "{\"state\":\"x\"}", ErrMsg = "" };
        Order o = Order.FromResult(odd);
        Expect(o.Code == OrderCode.Paid && o.State == null && o.Output == odd.Output, "unparsable member: code kept, member null");
        o = Order.FromResult(new Result<OrderCode> { Code = OrderCode.Unknown, Output = "{\"state\":99,\"total_fee\":5}", ErrMsg = "x" });
        Expect(o.State == null && o.TotalFee == 5 && o.ErrMsg == "x", "undocumented state: null");
        o = Order.FromResult(new Result<OrderCode> { Code = OrderCode.Error, Output = "", ErrMsg = "not initialised" });
        Expect(o.Code == OrderCode.Error && o.OutTradeNo == null, "empty output");
    }

    static int Main()
    {
        Schedule();
        RequestJson();
        ResultsTolerateOddOutput();
        CallResult init = TypedCloudPay.Init(DemoSupport.Conf());
        Expect(init.Code == Code.Ok, "init: " + init);
        if (init.Code != Code.Ok) return 1;
        PayWaitPartlyRefundWait();
        FailedPaymentCarriesTheReason();
        UnknownStaysUnknown();
        ScanCodePay();
        AsyncVariants();
        AmountsAreIntegersInFen();
        Expect(CloudPaySdk.Fini() == Code.Ok, "fini");
        Console.WriteLine("C# typed binding tests: " + checks + " checks, " + failures + " failed");
        return failures == 0 ? 0 : 1;
    }
}

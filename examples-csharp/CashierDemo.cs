// Cashier demo in C#, through the P/Invoke binding (bindings/csharp/CloudPay.cs), against the
// sandbox: init -> micro_pay -> wait for the result -> refund -> query_refund, then a
// scan-code payment. Exits 0 when every step gave the expected result.
//   mcs -out:CashierDemo.exe examples-csharp/*.cs bindings/csharp/CloudPay.cs
//   LD_LIBRARY_PATH=target/release mono CashierDemo.exe
using System;
using System.Threading;
using CloudPay;
using CloudPay.Demo;

static class CashierDemo
{
    static int failures;

    static void Expect(bool ok, string what)
    {
        if (!ok) { failures++; Console.Error.WriteLine("FAILED: " + what + " | errmsg: " + CloudPaySdk.ErrMsg()); }
    }

    static int Main()
    {
        Console.WriteLine("[1] Init (demo merchant, TEST-ONLY keys)");
        var init = CloudPaySdk.Init(DemoSupport.Conf());
        Expect(init.Code == Code.Ok, "init: " + init);
        if (init.Code != Code.Ok) return 1;

        string no = DemoSupport.OrderNo("CS");
        Console.WriteLine("[2] MicroPay " + no + ", 12.34 CNY, WeChat payment code 139102... (pays after 2 s)");
        var pay = CloudPaySdk.MicroPay("{\"out_trade_no\":\"" + no + "\",\"author_code\":\"139102000000000000\"," +
                                       "\"total_fee\":1234,\"fee_type\":\"CNY\",\"body\":\"Demo shop - 咖啡 coffee\"}");
        Console.WriteLine("    -> " + pay);
        Expect(pay.Code == Code.Ok, "micro_pay accepted");

        Console.WriteLine("[3] WaitForOrder (QueryOrder until the result is final)");
        var order = CloudPaySdk.WaitForOrder(no, 1, 30000);
        Expect(order.Code == OrderCode.Paid, "paid: " + order.Code);
        Expect(DemoSupport.Int(order.Output, "state") == (long)OrderState.Success, "state SUCCESS");
        Console.WriteLine("    " + order.Code + ": transaction_id " + DemoSupport.Field(order.Output, "transaction_id"));

        string rno = no + "R1";
        Console.WriteLine("[4] Refund 6.17 CNY as " + rno);
        var refund = CloudPaySdk.Refund("{\"pay_platform\":1,\"out_trade_no\":\"" + no + "\",\"out_refund_no\":\"" + rno +
                                        "\",\"total_fee\":1234,\"refund_fee\":617,\"refund_reason\":\"returned one coffee\"}");
        Expect(refund.Code == Code.Ok, "refund accepted: " + refund);

        Console.WriteLine("[5] QueryRefund until final");
        Result<Code> q;
        long state;
        int tries = 0;
        do
        {
            q = CloudPaySdk.QueryRefund("{\"pay_platform\":1,\"out_trade_no\":\"" + no + "\",\"out_refund_no\":\"" + rno + "\"}");
            state = DemoSupport.Int(q.Output, "state");
            if (q.Code == Code.Unknown || state == (long)RefundState.Processing) Thread.Sleep(300);
        } while ((q.Code == Code.Unknown || state == (long)RefundState.Processing) && ++tries < 100);
        Expect(q.Code == Code.Ok && state == (long)RefundState.Success, "refund SUCCESS: " + q);
        Console.WriteLine("    refund " + (RefundState)state + ", refund_fee " + DemoSupport.Field(q.Output, "refund_fee"));

        string sno = DemoSupport.OrderNo("CS");
        Console.WriteLine("[6] ScanCodePay " + sno + ", 8.88 CNY");
        Expect(CloudPaySdk.ScanCodePay("{\"pay_platform\":1,\"out_trade_no\":\"" + sno + "\",\"total_fee\":888,\"body\":\"tea\",\"product_id\":\"tea01\"}").Code == Code.Ok, "scan_code_pay accepted");
        var pre = CloudPaySdk.WaitForOrder(sno, 2, 10000);
        Expect(pre.Code == OrderCode.Prepay, "prepay: " + pre.Code);
        Console.WriteLine("    Prepay: show " + DemoSupport.Field(pre.Output, "code_url") + " as a QR code");
        DemoSupport.Control("scan", "{\"out_trade_no\":\"" + sno + "\",\"action\":\"Pay\"}");
        Result<OrderCode> paid;
        tries = 0;
        do { paid = CloudPaySdk.WaitForOrder(sno, 2, 10000); if (paid.Code == OrderCode.Prepay) Thread.Sleep(300); }
        while (paid.Code == OrderCode.Prepay && ++tries < 50);
        Expect(paid.Code == OrderCode.Paid, "scan-code paid: " + paid.Code);
        Console.WriteLine("    " + paid.Code);

        Expect(CloudPaySdk.Fini() == Code.Ok, "fini");
        Console.WriteLine(failures == 0 ? "C# cashier demo: OK" : "C# cashier demo: " + failures + " check(s) FAILED");
        return failures == 0 ? 0 : 1;
    }
}

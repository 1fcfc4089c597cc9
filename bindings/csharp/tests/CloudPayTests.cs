// Tests of the C# binding against the real library and the sandbox: typed codes equal the
// header's constants, not-initialised and bad-input answers, errmsg, the buffer rule and the
// binding's buffer growth, and the exports of the other families when the library has them.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text.RegularExpressions;
using System.Threading;
using CloudPay;
using CloudPay.Demo;

static class CloudPayTests
{
    static int checks, failures;

    static void Expect(bool ok, string what)
    {
        checks++;
        if (!ok) { failures++; Console.Error.WriteLine("FAILED: " + what + " | errmsg: " + CloudPaySdk.ErrMsg()); }
    }

    static void CodesMatchHeader(string header)
    {
        var defines = new Dictionary<string, int>();
        foreach (Match m in Regex.Matches(File.ReadAllText(header), @"#define (CLOUD_PAY_[A-Z_]+) \(?(-?\d+)\)?"))
            defines[m.Groups[1].Value] = int.Parse(m.Groups[2].Value);
        var seen = new HashSet<string>();
        Action<Type, string> check = (t, prefix) =>
        {
            foreach (var v in Enum.GetValues(t))
            {
                string name = prefix + Regex.Replace(v.ToString(), "(?<=[a-z])(?=[A-Z])", "_").ToUpperInvariant().Replace("RE_ENTRY", "REENTRY");
                if (prefix == "CLOUD_PAY_LOGIN_" && !defines.ContainsKey(name)) name = "CLOUD_PAY_" + name.Substring(16);
                Expect(defines.ContainsKey(name) && defines[name] == (int)v, "header has " + name + " = " + (int)v);
                seen.Add(name);
            }
        };
        check(typeof(Code), "CLOUD_PAY_");
        check(typeof(OrderCode), "CLOUD_PAY_ORDER_");
        check(typeof(OrderState), "CLOUD_PAY_STATE_");
        check(typeof(RefundState), "CLOUD_PAY_REFUND_");
        check(typeof(LoginCode), "CLOUD_PAY_LOGIN_");     // login-specific names, else the common ones
        check(typeof(LoginCheckCode), "CLOUD_PAY_LOGIN_");
        foreach (string d in defines.Keys) Expect(seen.Contains(d), d + " has a typed code in the binding");
    }

    /// <summary>Whether this library build has the export (binds it now instead of at the first call).</summary>
    static bool Exported(string name)
    {
        try { System.Runtime.InteropServices.Marshal.Prelink(typeof(Native).GetMethod(name)); return true; }
        catch (EntryPointNotFoundException) { return false; }
    }

    static int Main(string[] args)
    {
        CodesMatchHeader(args[0]);

        var r0 = CloudPaySdk.QueryOrder("{\"out_trade_no\":\"sz0100testX1\"}");
        Expect(r0.Code == OrderCode.Error && r0.ErrMsg.Contains("not initialised"), "before init: -3 not initialised");
        Expect(CloudPaySdk.Init(null).Code == Code.Fail, "init(null): -1");
        var bad = CloudPaySdk.Init("{\"common_conf\":{},\"trade_conf\":{}}");
        Expect(bad.Code == Code.Fail && bad.ErrMsg.Contains("trade_conf."), "init without keys names the field");
        var typo = CloudPaySdk.Init(DemoSupport.Conf().Replace("{\"common_conf\":{", "{\"common_conf\":{\"base_ur1\":\"x\","));
        Expect(typo.Code == Code.Ok && typo.ErrMsg.Contains("base_ur1"), "init's notice (unknown key) reaches the caller");
        Expect(CloudPaySdk.Init(DemoSupport.Conf()).Code == Code.Ok, "init");
        Expect(CloudPaySdk.ErrMsg() == "", "errmsg empty after success");

        var r = CloudPaySdk.MicroPay(null);
        Expect(r.Code == Code.Fail && r.ErrMsg.Contains("NULL"), "micro_pay(null): -1");
        r = CloudPaySdk.MicroPay("{\"out_trade_no\":\"sz0100testX2\"}");
        Expect(r.Code == Code.Fail && r.ErrMsg.Contains("author_code") && r.Output == "", "micro_pay names the missing field");
        Expect(CloudPaySdk.Refund("nope").Code == Code.Internal, "refund(bad JSON): -3");
        Expect(CloudPaySdk.CancelOrder(null).Code == Code.Internal, "cancel_order(null): -3");
        var gbk = new byte[] { (byte)'{', (byte)'"', (byte)'b', (byte)'"', (byte)':', (byte)'"', 0xC9, 0xCC, (byte)'"', (byte)'}', 0 };
        Expect(Native.cloud_pay_micro_pay(gbk, new byte[256], 256) == -1 && CloudPaySdk.ErrMsg().Contains("UTF-8"), "GBK refused with a UTF-8 hint");
        Expect(CloudPaySdk.QueryOrder("{\"out_trade_no\":\"" + DemoSupport.OrderNo("N") + "\",\"trade_type\":1,\"pay_platform\":1}").Code == OrderCode.NotExist, "unknown order: -7");

        // A paid order (sandbox code 134567890123456789 pays at once), then the buffer rule.
        string no = DemoSupport.OrderNo("CB");
        r = CloudPaySdk.MicroPay("{\"out_trade_no\":\"" + no + "\",\"author_code\":\"134567890123456789\",\"total_fee\":100,\"body\":\"短 buffer\"}", 8);
        Expect(r.Code == Code.Ok && r.Output == "" && r.ErrMsg.Contains("buffer too small, need"), "micro_pay short resp: real code 0, not repeated");
        var paid = CloudPaySdk.WaitForOrder(no, 1, 20000);
        Expect(paid.Code == OrderCode.Paid, "paid");
        int need = System.Text.Encoding.UTF8.GetByteCount(paid.Output) + 1;
        string q = "{\"out_trade_no\":\"" + no + "\",\"trade_type\":1}";
        var buf = new byte[64];
        for (int i = 0; i < buf.Length; i++) buf[i] = 0x5A;
        int code = Native.cloud_pay_query_order(CloudPaySdk.Utf8(q), buf, 16);
        bool canary = true;
        for (int i = 16; i < buf.Length; i++) canary &= buf[i] == 0x5A;
        Expect(code == 0 && buf[0] == 0 && canary, "raw short buffer: code 0, empty string, nothing past length");
        Expect(CloudPaySdk.ErrMsg().Contains("need " + need + " bytes"), "errmsg says need " + need);
        var grown = CloudPaySdk.QueryOrder(q, 16);
        Expect(grown.Code == OrderCode.Paid && grown.Output == paid.Output && grown.ErrMsg == "", "binding grows the buffer");
        Expect(CloudPaySdk.QueryOrder(q, need).Output == paid.Output, "exact fit");

        if (Exported("cloud_pay_query_shop_info"))
        {
            var shops = CloudPaySdk.QueryShopInfo("{\"page_num\":1,\"page_size\":100}", 4);
            Expect(shops.Code == Code.Ok && shops.Output.Contains("sz01TESTSHOP00000001"), "query_shop_info (grown from 4 bytes)");
            Expect(CloudPaySdk.OrderDetail("{\"page_num\":1,\"page_size\":10}").Output.Contains(no), "order_detail lists the order");
            var stat = CloudPaySdk.OrderStat("{\"page_num\":1,\"page_size\":10}");
            Expect(stat.Code == Code.Ok && stat.Output.Contains("total_count"), "order_stat (StdCall declaration)");
            var prefix = CloudPaySdk.SecurityAuthorCodePrefix();
            Expect(prefix.Code == Code.Ok && prefix.Output.Contains("wx_author_code_prefix"), "security_author_code_prefix");
        }
        else Console.WriteLine("(shop/listing exports not in this library build: skipped)");
        if (Exported("cloud_pay_security_login"))
        {
            string dir = Path.Combine(Path.GetTempPath(), "cloudpay-cs-login-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            var login = CloudPaySdk.SecurityLogin("{\"state_dir\":\"" + dir.Replace("\\", "\\\\") + "\"}");
            Expect(login.Code == LoginCode.NeedIds, "security_login first run: NeedIds " + login);
            Directory.Delete(dir, true);
        }

        bool nulRefused = false;
        try { CloudPaySdk.QueryOrder("{\"out_trade_no\":\"x\"}\0junk"); } catch (ArgumentException) { nulRefused = true; }
        Expect(nulRefused, "an embedded NUL is an error, not a silent cut");
        // "need N bytes" only from the SDK's exact sentence, capped; ToString hides the output.
        Expect(CloudPaySdk.NeededBytes("buffer too small, need 812 bytes, have 4") == 812, "need N: the SDK's sentence");
        Expect(CloudPaySdk.NeededBytes("buffer too small, need 99999999999 bytes, have 4") == 0, "need N: overflow ignored, no exception");
        Expect(CloudPaySdk.NeededBytes("status 3, buffer too small, need 99 bytes, have 4") == 0, "need N: server text ignored");
        Expect(CloudPaySdk.NeededBytes("buffer too small, need 16777217 bytes, have 4") == 0, "need N: capped at 16 MiB");
        var secretResult = new Result<Code> { Code = Code.Ok, Output = "{\"authen_key\":\"TESTONLY-SECRET\"}", ErrMsg = "" };
        Expect(!secretResult.ToString().Contains("TESTONLY-SECRET"), "ToString never prints the output");

        Expect(CloudPaySdk.Fini() == Code.Ok, "fini");
        Console.WriteLine("C# binding tests: " + checks + " checks, " + failures + " failed");
        return failures == 0 ? 0 : 1;
    }
}

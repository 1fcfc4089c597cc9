// Panic check of the C# binding, run against the library built with `--features testing`
// (scripts/legs/csharp.sh puts it first on LD_LIBRARY_PATH): its test export
// cloud_pay_testing_panic panics inside the SDK's panic boundary. Through P/Invoke the call
// must come back as Code.Internal (-3) with errmsg "internal error: ..." (the digit run of the
// panic message redacted), and the same library must go on working: init, a second panic, fini.
using System;
using System.Runtime.InteropServices;
using CloudPay;
using CloudPay.Demo;

static class PanicCheck
{
    // Test-only: the shipped library does not have it, so the binding does not declare it.
    [DllImport(Native.Library, CallingConvention = CallingConvention.Cdecl)]
    static extern int cloud_pay_testing_panic();

    static int checks, failures;

    static void Expect(bool ok, string what)
    {
        checks++;
        if (!ok) { failures++; Console.Error.WriteLine("FAILED: " + what + " | errmsg: " + CloudPaySdk.ErrMsg()); }
    }

    static void Panics(string when)
    {
        int code = cloud_pay_testing_panic();
        string msg = CloudPaySdk.ErrMsg();
        Console.WriteLine("cloud_pay_testing_panic (" + when + "): " + code + ", errmsg \"" + msg + "\"");
        Expect(code == (int)Code.Internal, when + ": a panic is Code.Internal (-3)");
        Expect(msg.StartsWith("internal error: ", StringComparison.Ordinal), when + ": errmsg starts \"internal error: \"");
        Expect(!msg.Contains("134567890123456789"), when + ": errmsg redacts the digit run");
    }

    static int Main()
    {
        Panics("before init");
        Expect(CloudPaySdk.Init(DemoSupport.Conf()).Code == Code.Ok, "init after the panic");
        Panics("after init");
        Expect(CloudPaySdk.Fini() == Code.Ok, "fini after the panics");
        Console.WriteLine("PanicCheck: " + checks + " checks, " + failures + " failed");
        return failures == 0 ? 0 : 1;
    }
}

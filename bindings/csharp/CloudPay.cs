// P/Invoke binding of the Cloud Pay SDK (CloudPayAPI_SDK_CPP.dll / libCloudPayAPI_SDK_CPP.so),
// the drop-in replacement of Tencent Cloud Pay's Windows payment SDK.
//
// Rules this file follows (see README.md):
// * JSON goes in and out as UTF-8 byte[] (never CharSet.Ansi / StringBuilder: on Windows that
//   is the ANSI code page, e.g. GBK, and the SDK refuses non-UTF-8 input).
// * cloud_pay_get_errmsg returns IntPtr, decoded here; declaring it `string` would make the
//   marshaller free the SDK's own buffer (heap corruption).
// * Cdecl everywhere except cloud_pay_order_stat (StdCall; on x64 both are the same).
// * Output buffers grow by themselves when the SDK answers "buffer too small, need N bytes",
//   for calls that are safe to repeat; micro_pay and set_shop_info are never repeated.
// Works with mono (mcs) and .NET Framework 4.x / .NET Core and later.
using System;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace CloudPay
{
    /// <summary>Return codes of every export except query_order (CLOUD_PAY_*).</summary>
    public enum Code { Ok = 0, Fail = -1, Unknown = -2, Internal = -3 }

    /// <summary>Return codes of cloud_pay_query_order (CLOUD_PAY_ORDER_*).</summary>
    public enum OrderCode { Paid = 0, Failed = -1, Unknown = -2, Error = -3, Closed = -4, Prepay = -5, ReEntry = -6, NotExist = -7 }

    /// <summary>`state` in query_order output (CLOUD_PAY_STATE_*).</summary>
    public enum OrderState { Init = 1, UserPaying = 2, Success = 3, Fail = 4, Reverse = 5, Refund = 6, Closed = 7, ReEntry = 8, Unknown = 9, PreOrdered = 10 }

    /// <summary>`state` in query_refund output (CLOUD_PAY_REFUND_*).</summary>
    public enum RefundState { Processing = 1, Success = 2, Failed = 3 }

    /// <summary>Return codes of cloud_pay_security_login.</summary>
    public enum LoginCode { Ok = 0, NeedIds = 1, Unknown = -2, Internal = -3 }

    /// <summary>Return codes of cloud_pay_security_login_check.</summary>
    public enum LoginCheckCode { Ok = 0, NoConf = 1, Rejected = -1, Unknown = -2, Internal = -3, Expired = -4 }

    /// <summary>One call's outcome: typed code, output JSON (UTF-8 decoded) and errmsg.</summary>
    public struct Result<T> where T : struct
    {
        public T Code;
        public string Output;
        public string ErrMsg;
        // Output can hold decrypted keys (SecurityLoginCheck's conf): only its length is printed.
        public override string ToString() { return Code + " <" + (Output ?? "").Length + " chars of output>" + (!string.IsNullOrEmpty(ErrMsg) ? " (" + ErrMsg + ")" : ""); }
    }

    /// <summary>The raw exports, exactly as the C header declares them.</summary>
    public static class Native
    {
        public const string Library = "CloudPayAPI_SDK_CPP"; // CloudPayAPI_SDK_CPP.dll, libCloudPayAPI_SDK_CPP.so
        const CallingConvention C = CallingConvention.Cdecl;

        [DllImport(Library, CallingConvention = C)] public static extern int cloud_pay_init(byte[] conf);
        [DllImport(Library, CallingConvention = C)] public static extern int cloud_pay_fini();
        [DllImport(Library, CallingConvention = C)] public static extern IntPtr cloud_pay_get_errmsg();
        [DllImport(Library, CallingConvention = C)] public static extern int cloud_pay_micro_pay(byte[] req, byte[] resp, int length);
        [DllImport(Library, CallingConvention = C)] public static extern int cloud_pay_query_order(byte[] req, byte[] order, int length);
        [DllImport(Library, CallingConvention = C)] public static extern int cloud_pay_cancel_order(byte[] req);
        [DllImport(Library, CallingConvention = C)] public static extern int cloud_pay_scan_code_pay(byte[] req);
        [DllImport(Library, CallingConvention = C)] public static extern int cloud_pay_refund(byte[] req);
        [DllImport(Library, CallingConvention = C)] public static extern int cloud_pay_query_refund(byte[] req, byte[] refundOrder, int length);
        [DllImport(Library, CallingConvention = C)] public static extern int cloud_pay_query_shop_info(byte[] req, byte[] shopInfo, int length);
        [DllImport(Library, CallingConvention = C)] public static extern int cloud_pay_set_shop_info(byte[] req, byte[] shopInfo, int length);
        [DllImport(Library, CallingConvention = C)] public static extern int cloud_pay_order_detail(byte[] req, byte[] orderDetails, int length);
        [DllImport(Library, CallingConvention = CallingConvention.StdCall)] public static extern int cloud_pay_order_stat(byte[] req, byte[] orderStat, int length);
        [DllImport(Library, CallingConvention = C)] public static extern int cloud_pay_security_author_code_prefix(byte[] resp, int length);
        [DllImport(Library, CallingConvention = C)] public static extern int cloud_pay_security_login(byte[] req, byte[] resp, int length);
        [DllImport(Library, CallingConvention = C)] public static extern int cloud_pay_security_login_check(byte[] req, byte[] resp, int length);
        [DllImport(Library, CallingConvention = C)] public static extern int cloud_pay_security_init(byte[] conf);
        [DllImport(Library, CallingConvention = C)] public static extern int cloud_pay_security_identification(byte[] req, byte[] resp, int length);
        [DllImport(Library, CallingConvention = C)] public static extern int cloud_pay_security_identification_check(byte[] req, byte[] resp, int length);
    }

    /// <summary>The exports with typed codes. The SDK is process-global: use it as a static API.</summary>
    public static class CloudPaySdk
    {
        delegate int InOut(byte[] req, byte[] buf, int length);

        // Only the SDK's own sentence, whole: errmsg may carry server text ("need 99999999999 bytes").
        static readonly Regex Need = new Regex(@"^buffer too small, need (\d{1,9}) bytes, have \d+$");
        /// <summary>The most a repeat may ask for; no reply of this SDK comes near it.</summary>
        public const int MaxOutput = 16 * 1024 * 1024;

        /// <summary>N from the SDK's exact "buffer too small, need N bytes, have M" errmsg;
        /// 0 for any other text or an N above MaxOutput.</summary>
        public static int NeededBytes(string errmsg)
        {
            Match m = Need.Match(errmsg ?? "");
            int n;
            return m.Success && int.TryParse(m.Groups[1].Value, out n) && n > 0 && n <= MaxOutput ? n : 0;
        }

        /// <summary>UTF-8 bytes with the terminating NUL; null stays null (the SDK reports it).</summary>
        public static byte[] Utf8(string s)
        {
            if (s == null) return null;
            // C would read only up to it: refuse rather than send a silently cut request.
            if (s.IndexOf('\0') >= 0) throw new ArgumentException("request text contains a NUL character");
            byte[] text = Encoding.UTF8.GetBytes(s);
            byte[] z = new byte[text.Length + 1];
            Buffer.BlockCopy(text, 0, z, 0, text.Length);
            return z;
        }

        /// <summary>The text up to the first NUL of an output buffer.</summary>
        public static string FromUtf8(byte[] buf)
        {
            int n = Array.IndexOf(buf, (byte)0);
            return Encoding.UTF8.GetString(buf, 0, n < 0 ? buf.Length : n);
        }

        /// <summary>This thread's errmsg (UTF-8, owned by the SDK: read, never freed).</summary>
        public static string ErrMsg()
        {
            IntPtr p = Native.cloud_pay_get_errmsg();
            if (p == IntPtr.Zero) return "";
            int n = 0;
            while (Marshal.ReadByte(p, n) != 0) n++;
            byte[] bytes = new byte[n];
            Marshal.Copy(p, bytes, 0, n);
            return Encoding.UTF8.GetString(bytes);
        }

        static Result<T> Typed<T>(int code, string output, string errmsg) where T : struct
        {
            Result<T> r;
            r.Code = (T)Enum.ToObject(typeof(T), code);
            r.Output = output;
            r.ErrMsg = errmsg;
            return r;
        }

        static Result<T> In<T>(Func<byte[], int> fn, string req) where T : struct
        {
            int code = fn(Utf8(req));
            // Read on success too: init's notice (unknown keys, a failed connectivity check) and
            // "outcome unknown" texts come with code 0.
            return Typed<T>(code, "", ErrMsg());
        }

        static Result<T> Out<T>(InOut fn, string req, int capacity, bool repeatable) where T : struct
        {
            byte[] arg = Utf8(req);
            for (int attempt = 0; ; attempt++)
            {
                byte[] buf = new byte[Math.Max(capacity, 1)];
                int code = fn(arg, buf, capacity);
                string msg = ErrMsg();
                int need = buf[0] == 0 ? NeededBytes(msg) : 0;
                if (repeatable && attempt == 0 && need > capacity)
                {
                    capacity = need;
                    continue;
                }
                return Typed<T>(code, FromUtf8(buf), msg);
            }
        }

        public static Result<Code> Init(string confJson) { return In<Code>(Native.cloud_pay_init, confJson); }
        public static Code Fini() { return (Code)Native.cloud_pay_fini(); }

        /// <summary>Submits a payment. Never repeated by the binding: it would submit again.</summary>
        public static Result<Code> MicroPay(string req, int capacity = 4096) { return Out<Code>(Native.cloud_pay_micro_pay, req, capacity, false); }
        public static Result<OrderCode> QueryOrder(string req, int capacity = 4096) { return Out<OrderCode>(Native.cloud_pay_query_order, req, capacity, true); }
        public static Result<Code> CancelOrder(string req) { return In<Code>(Native.cloud_pay_cancel_order, req); }
        public static Result<Code> ScanCodePay(string req) { return In<Code>(Native.cloud_pay_scan_code_pay, req); }
        public static Result<Code> Refund(string req) { return In<Code>(Native.cloud_pay_refund, req); }
        public static Result<Code> QueryRefund(string req, int capacity = 4096) { return Out<Code>(Native.cloud_pay_query_refund, req, capacity, true); }
        public static Result<Code> QueryShopInfo(string req, int capacity = 65536) { return Out<Code>(Native.cloud_pay_query_shop_info, req, capacity, true); }
        /// <summary>Changes shops: never repeated by the binding, hence the large default buffer.</summary>
        public static Result<Code> SetShopInfo(string req, int capacity = 262144) { return Out<Code>(Native.cloud_pay_set_shop_info, req, capacity, false); }
        public static Result<Code> OrderDetail(string req, int capacity = 65536) { return Out<Code>(Native.cloud_pay_order_detail, req, capacity, true); }
        public static Result<Code> OrderStat(string req, int capacity = 65536) { return Out<Code>(Native.cloud_pay_order_stat, req, capacity, true); }
        public static Result<Code> SecurityAuthorCodePrefix(int capacity = 1024)
        {
            return Out<Code>((req, buf, len) => Native.cloud_pay_security_author_code_prefix(buf, len), null, capacity, true);
        }

        /// <summary>Starts a security (QR) login; never repeated by the binding.</summary>
        public static Result<LoginCode> SecurityLogin(string req, int capacity = 4096) { return Out<LoginCode>(Native.cloud_pay_security_login, req, capacity, false); }
        public static Result<LoginCheckCode> SecurityLoginCheck(string req, int capacity = 65536) { return Out<LoginCheckCode>(Native.cloud_pay_security_login_check, req, capacity, true); }
        public static Result<Code> SecurityInit(string confJson) { return In<Code>(Native.cloud_pay_security_init, confJson); }
        /// <summary>Starts an identity check; never repeated by the binding.</summary>
        public static Result<Code> SecurityIdentification(string req, int capacity = 4096) { return Out<Code>(Native.cloud_pay_security_identification, req, capacity, false); }
        public static Result<Code> SecurityIdentificationCheck(string req, int capacity = 8192) { return Out<Code>(Native.cloud_pay_security_identification_check, req, capacity, true); }

        /// <summary>Queries the order until its result is final (anything but -2) or the timeout
        /// passes. -2 at the end means: still unknown, ask again later; never charge the
        /// customer again with a new order number.</summary>
        public static Result<OrderCode> WaitForOrder(string outTradeNo, int tradeType = 1, int timeoutMs = 60000, int intervalMs = 500)
        {
            string req = "{\"out_trade_no\":\"" + outTradeNo + "\",\"trade_type\":" + tradeType + "}";
            DateTime deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
            while (true)
            {
                Result<OrderCode> r = QueryOrder(req);
                if (r.Code != OrderCode.Unknown || DateTime.UtcNow >= deadline) return r;
                System.Threading.Thread.Sleep(intervalMs);
            }
        }
    }
}

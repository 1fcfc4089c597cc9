// Support for the demo and the tests: the demo merchant's configuration for the sandbox named
// by the environment, a small top-level JSON field reader, and the sandbox's control API.
using System;
using System.IO;
using System.Net;
using System.Text;

namespace CloudPay.Demo
{
    public static class DemoSupport
    {
        static string Env(string name)
        {
            string v = Environment.GetEnvironmentVariable(name);
            if (string.IsNullOrEmpty(v))
                throw new InvalidOperationException(name + " is not set: start the sandbox (cargo run -p cloud-pay-sandbox) and export its lines");
            return v;
        }

        static string Quote(string s) { return "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\""; }

        /// <summary>CloudPayConf of the sandbox's demo merchant (TEST-ONLY keys).</summary>
        public static string Conf()
        {
            string state = Environment.GetEnvironmentVariable("CLOUDPAY_STATE_DIR");
            return "{\"common_conf\":{\"base_url\":" + Quote(Env("CLOUDPAY_SANDBOX_HTTPS")) +
                   ",\"ca_file\":" + Quote(Env("CLOUDPAY_SANDBOX_CA")) +
                   (string.IsNullOrEmpty(state) ? "" : ",\"state_dir\":" + Quote(state)) +
                   ",\"micro_pay_query_order_interval\":0.5,\"upload_monitor\":0}," +
                   "\"trade_conf\":{\"out_mch_id\":\"sz01TESTMCH000000001\",\"out_sub_mch_id\":\"sz01TESTSUBMCH000001\"," +
                   "\"out_shop_id\":\"sz01TESTSHOP00000001\",\"device_id\":\"dev01\",\"staff_id\":\"1001\"," +
                   "\"authen_type\":1,\"authen_key\":\"TESTONLY0123456789ABCDEFGHIJKLMN\",\"sign_type\":1}}";
        }

        static int seq;
        public static string OrderNo(string tag)
        {
            return "sz0100test" + tag + DateTimeOffset.UtcNow.ToUnixTimeSeconds() + (++seq).ToString("D3");
        }

        /// <summary>The raw value of a top-level field ("state" -> "3", "code_url" -> "weixin://..."),
        /// or null. A small scanner for the demo; use a JSON library in a real POS.</summary>
        public static string Field(string json, string key)
        {
            int depth = 0;
            for (int i = 0; i < json.Length; i++)
            {
                char c = json[i];
                if (c == '"')
                {
                    int start = ++i;
                    while (i < json.Length && json[i] != '"') { if (json[i] == '\\') i++; i++; }
                    if (depth == 1 && json.Substring(start, i - start) == key && i + 1 < json.Length && json[i + 1] == ':')
                    {
                        int v = i + 2;
                        if (json[v] == '"')
                        {
                            int end = json.IndexOf('"', v + 1);
                            return json.Substring(v + 1, end - v - 1).Replace("\\/", "/");
                        }
                        int e = v;
                        while (e < json.Length && json[e] != ',' && json[e] != '}') e++;
                        return json.Substring(v, e - v);
                    }
                }
                else if (c == '{' || c == '[') depth++;
                else if (c == '}' || c == ']') depth--;
            }
            return null;
        }

        public static long Int(string json, string key)
        {
            string v = Field(json, key);
            long n;
            return v != null && long.TryParse(v, out n) ? n : long.MinValue;
        }

        /// <summary>POST /sandbox/&lt;action&gt; on the sandbox: plays the customer.</summary>
        public static string Control(string action, string body)
        {
            string http = Env("CLOUDPAY_SANDBOX_HTTP");
            string url = http.Substring(0, http.IndexOf("/cpay/")) + "/sandbox/" + action;
            var req = (HttpWebRequest)WebRequest.Create(url);
            req.Method = "POST";
            req.ContentType = "application/json";
            req.Proxy = null;
            byte[] data = Encoding.UTF8.GetBytes(body);
            using (Stream s = req.GetRequestStream()) s.Write(data, 0, data.Length);
            using (var resp = (HttpWebResponse)req.GetResponse())
            using (var rd = new StreamReader(resp.GetResponseStream(), Encoding.UTF8))
                return rd.ReadToEnd();
        }
    }
}

// Typed requests and results over CloudPaySdk (CloudPay.cs), the C# counterpart of
// bindings/python/cloudpay_typed.py. The raw JSON calls of CloudPaySdk stay as they are.
//
//   var pay = TypedCloudPay.MicroPay(new MicroPayRequest { OutTradeNo = no, AuthorCode = code, TotalFee = 1234, Body = "coffee" });
//   Order order = TypedCloudPay.WaitForOrder(no);    // every WaitInterval for up to WaitTimeout
//   if (order.Code == OrderCode.Unknown) { ... }     // ask again later; NEVER charge again with a new number
//
// JSON is written and read with DataContractJsonSerializer (System.Runtime.Serialization: in
// .NET Framework 4.x, .NET Core / .NET and netstandard2.0; under mono reference
// System.Runtime.Serialization.dll). Amounts are integers in fen (long: 1234 = 12.34 CNY);
// Fen(decimal) converts a price in yuan and refuses a fraction of a fen.
using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Runtime.Serialization;
using System.Runtime.Serialization.Json;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace CloudPay
{
    /// <summary>`pay_platform`: 1 WeChat Pay, 2 Alipay.</summary>
    public enum PayPlatform { WeChatPay = 1, Alipay = 2 }

    /// <summary>`trade_type` of an order: 1 payment code (micro pay), 2 scan code (Native QR).</summary>
    public enum TradeType { MicroPay = 1, ScanCode = 2 }

    /// <summary>cloud_pay_micro_pay's request. Null members are left out of the JSON.</summary>
    [DataContract]
    public sealed class MicroPayRequest
    {
        /// <summary>Order number with the merchant's prefix, unique per sale, never reused.</summary>
        [DataMember(Name = "out_trade_no", Order = 1, EmitDefaultValue = false)] public string OutTradeNo { get; set; }
        /// <summary>The customer's payment code, as scanned.</summary>
        [DataMember(Name = "author_code", Order = 2, EmitDefaultValue = false)] public string AuthorCode { get; set; }
        /// <summary>Amount in fen (1234 = 12.34 CNY); see TypedCloudPay.Fen for a price in yuan.</summary>
        [DataMember(Name = "total_fee", Order = 3)] public long TotalFee { get; set; }
        /// <summary>Goods summary.</summary>
        [DataMember(Name = "body", Order = 4, EmitDefaultValue = false)] public string Body { get; set; }
        /// <summary>Currency; the SDK uses CNY when null.</summary>
        [DataMember(Name = "fee_type", Order = 5, EmitDefaultValue = false)] public string FeeType { get; set; }
        /// <summary>Inferred from the payment code when null.</summary>
        [DataMember(Name = "pay_platform", Order = 6, EmitDefaultValue = false)] public PayPlatform? PayPlatform { get; set; }
        [DataMember(Name = "attach", Order = 7, EmitDefaultValue = false)] public string Attach { get; set; }
        [DataMember(Name = "goods_tag", Order = 8, EmitDefaultValue = false)] public string GoodsTag { get; set; }
        /// <summary>Goods detail as JSON text (`{"goods_detail":[…]}` or a bare goods array).</summary>
        [DataMember(Name = "detail", Order = 9, EmitDefaultValue = false)] public string Detail { get; set; }

        /// <summary>The request JSON passed to CloudPaySdk.MicroPay.</summary>
        public string ToJson() { return Json.Write(this); }
    }

    /// <summary>cloud_pay_scan_code_pay's request (the customer scans the till's QR code).</summary>
    [DataContract]
    public sealed class ScanCodePayRequest
    {
        [DataMember(Name = "pay_platform", Order = 1)] public PayPlatform PayPlatform { get; set; }
        [DataMember(Name = "out_trade_no", Order = 2, EmitDefaultValue = false)] public string OutTradeNo { get; set; }
        /// <summary>Amount in fen (1234 = 12.34 CNY).</summary>
        [DataMember(Name = "total_fee", Order = 3)] public long TotalFee { get; set; }
        [DataMember(Name = "body", Order = 4, EmitDefaultValue = false)] public string Body { get; set; }
        [DataMember(Name = "product_id", Order = 5, EmitDefaultValue = false)] public string ProductId { get; set; }
        [DataMember(Name = "fee_type", Order = 6, EmitDefaultValue = false)] public string FeeType { get; set; }
        [DataMember(Name = "attach", Order = 7, EmitDefaultValue = false)] public string Attach { get; set; }
        [DataMember(Name = "goods_tag", Order = 8, EmitDefaultValue = false)] public string GoodsTag { get; set; }
        /// <summary>Goods detail as JSON text.</summary>
        [DataMember(Name = "detail", Order = 9, EmitDefaultValue = false)] public string Detail { get; set; }
        /// <summary>Order expiry, Unix seconds.</summary>
        [DataMember(Name = "time_expire", Order = 10, EmitDefaultValue = false)] public long? TimeExpire { get; set; }

        public string ToJson() { return Json.Write(this); }
    }

    /// <summary>cloud_pay_refund's request. Amounts in fen.</summary>
    [DataContract]
    public sealed class RefundRequest
    {
        [DataMember(Name = "out_trade_no", Order = 1, EmitDefaultValue = false)] public string OutTradeNo { get; set; }
        /// <summary>Generated by the SDK (and reused on a retry) when null; find it with QueryRefund.</summary>
        [DataMember(Name = "out_refund_no", Order = 2, EmitDefaultValue = false)] public string OutRefundNo { get; set; }
        /// <summary>The order's amount in fen.</summary>
        [DataMember(Name = "total_fee", Order = 3)] public long TotalFee { get; set; }
        /// <summary>The amount to give back in fen.</summary>
        [DataMember(Name = "refund_fee", Order = 4)] public long RefundFee { get; set; }
        [DataMember(Name = "pay_platform", Order = 5, EmitDefaultValue = false)] public PayPlatform? PayPlatform { get; set; }
        [DataMember(Name = "refund_reason", Order = 6, EmitDefaultValue = false)] public string RefundReason { get; set; }

        public string ToJson() { return Json.Write(this); }
    }

    /// <summary>micro_pay / scan_code_pay: Ok = accepted or outcome unknown (wait for the order);
    /// Fail = not accepted (never cancel it); NothingSent: Fail because no byte reached a
    /// server — fix the cause (ErrMsg) and pay again.</summary>
    public sealed class PayResult
    {
        public Code Code { get; private set; }
        public string OutTradeNo { get; private set; }
        public PayPlatform? PayPlatform { get; private set; }
        public string ErrMsg { get; private set; }
        /// <summary>The output JSON as the SDK wrote it ("" for scan_code_pay).</summary>
        public string Output { get; private set; }
        public bool NothingSent { get { return Code == Code.Fail && ErrMsg.StartsWith("nothing was sent", StringComparison.Ordinal); } }

        internal PayResult(Code code, string outTradeNo, PayPlatform? platform, string errmsg, string output)
        {
            Code = code; OutTradeNo = outTradeNo; PayPlatform = platform; ErrMsg = errmsg ?? ""; Output = output ?? "";
        }

        public override string ToString() { return Code + " " + OutTradeNo + (ErrMsg.Length > 0 ? " (" + ErrMsg + ")" : ""); }
    }

    /// <summary>query_order's answer, typed; Output holds every member as the SDK wrote it.</summary>
    public sealed class Order
    {
        public OrderCode Code { get; private set; }
        public string OutTradeNo { get; private set; }
        /// <summary>CLOUD_PAY_STATE_*; null when absent or not a documented value.</summary>
        public OrderState? State { get; private set; }
        public long? TotalFee { get; private set; }
        public string TransactionId { get; private set; }
        /// <summary>The platform's words for the state (a failed payment's reason).</summary>
        public string TradeStateDesc { get; private set; }
        /// <summary>Refunded so far (refunds not failed), for a (partly) refunded order.</summary>
        public long? RefundedFee { get; private set; }
        public int? RefundCount { get; private set; }
        /// <summary>The QR code to show for a scan-code order (Prepay).</summary>
        public string CodeUrl { get; private set; }
        public string ErrMsg { get; private set; }
        public string Output { get; private set; }

        /// <summary>Not Unknown and not Prepay: asking again will not change the answer.</summary>
        public bool Final { get { return Code != OrderCode.Unknown && Code != OrderCode.Prepay; } }

        [DataContract]
        sealed class Wire
        {
            [DataMember(Name = "out_trade_no")] public string out_trade_no;
            [DataMember(Name = "state")] public int? state;
            [DataMember(Name = "total_fee")] public long? total_fee;
            [DataMember(Name = "transaction_id")] public string transaction_id;
            [DataMember(Name = "trade_state_desc")] public string trade_state_desc;
            [DataMember(Name = "refunded_fee")] public long? refunded_fee;
            [DataMember(Name = "refund_count")] public int? refund_count;
            [DataMember(Name = "code_url")] public string code_url;
        }

        /// <summary>Types a raw QueryOrder result. An output that does not parse leaves the
        /// members null; the code is the SDK's either way.</summary>
        public static Order FromResult(Result<OrderCode> r)
        {
            Wire w = Json.Read<Wire>(r.Output) ?? new Wire();
            return new Order
            {
                Code = r.Code, OutTradeNo = w.out_trade_no, State = Json.Enum<OrderState>(w.state), TotalFee = w.total_fee,
                TransactionId = w.transaction_id, TradeStateDesc = w.trade_state_desc, RefundedFee = w.refunded_fee,
                RefundCount = w.refund_count, CodeUrl = w.code_url, ErrMsg = r.ErrMsg ?? "", Output = r.Output ?? "",
            };
        }

        public override string ToString() { return Code + " " + OutTradeNo + " state " + State + (ErrMsg.Length > 0 ? " (" + ErrMsg + ")" : ""); }
    }

    /// <summary>refund (and init): Ok accepted, Fail not accepted, Unknown: retry with the same numbers.</summary>
    public sealed class CallResult
    {
        public Code Code { get; private set; }
        public string ErrMsg { get; private set; }
        internal CallResult(Result<Code> r) { Code = r.Code; ErrMsg = r.ErrMsg ?? ""; }
        public override string ToString() { return Code + (ErrMsg.Length > 0 ? " (" + ErrMsg + ")" : ""); }
    }

    /// <summary>query_refund's answer for one refund, typed.</summary>
    public sealed class Refund
    {
        public Code Code { get; private set; }
        public string OutTradeNo { get; private set; }
        public string OutRefundNo { get; private set; }
        public long? RefundFee { get; private set; }
        public RefundState? State { get; private set; }
        public string ErrMsg { get; private set; }
        public string Output { get; private set; }

        /// <summary>Code Ok and state Success or Failed.</summary>
        public bool Final { get { return Code == Code.Ok && (State == RefundState.Success || State == RefundState.Failed); } }

        [DataContract]
        sealed class Wire
        {
            [DataMember(Name = "out_trade_no")] public string out_trade_no;
            [DataMember(Name = "out_refund_no")] public string out_refund_no;
            [DataMember(Name = "refund_fee")] public long? refund_fee;
            [DataMember(Name = "state")] public int? state;
        }

        public static Refund FromResult(Result<Code> r)
        {
            Wire w = Json.Read<Wire>(r.Output) ?? new Wire();
            return new Refund
            {
                Code = r.Code, OutTradeNo = w.out_trade_no, OutRefundNo = w.out_refund_no, RefundFee = w.refund_fee,
                State = Json.Enum<RefundState>(w.state), ErrMsg = r.ErrMsg ?? "", Output = r.Output ?? "",
            };
        }

        public override string ToString() { return Code + " " + OutRefundNo + " state " + State + (ErrMsg.Length > 0 ? " (" + ErrMsg + ")" : ""); }
    }

    /// <summary>The SDK's trade calls with typed requests and results, blocking and Task-based.
    /// The async variants run the blocking call on the thread pool (Task.Run); each call reads
    /// its errmsg on the thread that made it, so results are never mixed between threads.</summary>
    public static class TypedCloudPay
    {
        /// <summary>How often WaitForOrder / WaitForRefund ask. The SDK also polls in the
        /// background and answers final states from memory, so every second costs the network
        /// nothing once final.</summary>
        public static readonly TimeSpan WaitInterval = TimeSpan.FromSeconds(1);
        /// <summary>How long WaitForOrder asks: the SDK's default polling window after
        /// micro_pay (25 × 6 s).</summary>
        public static readonly TimeSpan WaitTimeout = TimeSpan.FromSeconds(150);
        /// <summary>How long WaitForRefund asks.</summary>
        public static readonly TimeSpan RefundWaitTimeout = TimeSpan.FromSeconds(60);

        /// <summary>A price in yuan as fen: Fen(12.34m) == 1234. A fraction of a fen (12.345m)
        /// throws ArgumentException: amounts are integers in fen.</summary>
        public static long Fen(decimal yuan)
        {
            decimal fen = yuan * 100m;
            if (fen != decimal.Truncate(fen))
                throw new ArgumentException("amounts are integers in fen (1234 = 12.34 CNY): " +
                                            yuan.ToString(CultureInfo.InvariantCulture) + " CNY has a fraction of a fen", "yuan");
            if (fen > long.MaxValue || fen < long.MinValue) throw new ArgumentOutOfRangeException("yuan");
            return (long)fen;
        }

        public static CallResult Init(string confJson) { return new CallResult(CloudPaySdk.Init(confJson)); }

        /// <summary>Submits a payment (never repeated by the binding). Ok: wait for the order.</summary>
        public static PayResult MicroPay(MicroPayRequest req)
        {
            if (req == null) throw new ArgumentNullException("req");
            Result<Code> r = CloudPaySdk.MicroPay(req.ToJson());
            Wire w = Json.Read<Wire>(r.Output) ?? new Wire();
            return new PayResult(r.Code, w.out_trade_no ?? req.OutTradeNo, Json.Enum<PayPlatform>(w.pay_platform) ?? req.PayPlatform, r.ErrMsg, r.Output);
        }

        /// <summary>Creates a scan-code order. Ok: QueryOrder / WaitForOrder with TradeType.ScanCode
        /// (Prepay gives CodeUrl to show; Paid once the customer has paid).</summary>
        public static PayResult ScanCodePay(ScanCodePayRequest req)
        {
            if (req == null) throw new ArgumentNullException("req");
            Result<Code> r = CloudPaySdk.ScanCodePay(req.ToJson());
            return new PayResult(r.Code, req.OutTradeNo, req.PayPlatform, r.ErrMsg, r.Output);
        }

        public static Order QueryOrder(string outTradeNo, TradeType tradeType = TradeType.MicroPay)
        {
            return Order.FromResult(CloudPaySdk.QueryOrder(Json.Write(new OrderRef { OutTradeNo = outTradeNo, TradeType = (int)tradeType })));
        }

        /// <summary>Asks every `interval` (default WaitInterval) until the order is Final or
        /// `timeout` (default WaitTimeout) has passed, and returns the last answer. Still Unknown
        /// then: the customer may yet pay — keep the order, ask again later; never charge again
        /// with a new number, never cancel after Fail. Cancelling `cancel` throws
        /// OperationCanceledException (the order's outcome is then just as unknown).</summary>
        public static Order WaitForOrder(string outTradeNo, TradeType tradeType = TradeType.MicroPay, TimeSpan? interval = null,
                                         TimeSpan? timeout = null, CancellationToken cancel = default(CancellationToken))
        {
            return Wait(() => QueryOrder(outTradeNo, tradeType), o => o.Final, interval ?? WaitInterval, timeout ?? WaitTimeout, cancel);
        }

        /// <summary>Applies for a refund. Unknown: retry with the same OutRefundNo, or query.</summary>
        public static CallResult Refund(RefundRequest req)
        {
            if (req == null) throw new ArgumentNullException("req");
            return new CallResult(CloudPaySdk.Refund(req.ToJson()));
        }

        /// <summary>The refund `outRefundNo` of the order, or its newest refund when null.</summary>
        public static Refund QueryRefund(string outTradeNo, string outRefundNo = null)
        {
            return CloudPay.Refund.FromResult(CloudPaySdk.QueryRefund(Json.Write(new RefundRef { OutTradeNo = outTradeNo, OutRefundNo = outRefundNo })));
        }

        /// <summary>Asks until the refund is Success or Failed (or `timeout`, default
        /// RefundWaitTimeout, passes). Unknown or Processing at the end: ask again later, never
        /// refund again with a new number.</summary>
        public static Refund WaitForRefund(string outTradeNo, string outRefundNo, TimeSpan? interval = null, TimeSpan? timeout = null,
                                           CancellationToken cancel = default(CancellationToken))
        {
            return Wait(() => QueryRefund(outTradeNo, outRefundNo), r => r.Final, interval ?? WaitInterval, timeout ?? RefundWaitTimeout, cancel);
        }

        public static Task<PayResult> MicroPayAsync(MicroPayRequest req) { return Task.Run(() => MicroPay(req)); }
        public static Task<PayResult> ScanCodePayAsync(ScanCodePayRequest req) { return Task.Run(() => ScanCodePay(req)); }
        public static Task<Order> QueryOrderAsync(string outTradeNo, TradeType tradeType = TradeType.MicroPay) { return Task.Run(() => QueryOrder(outTradeNo, tradeType)); }
        public static Task<Order> WaitForOrderAsync(string outTradeNo, TradeType tradeType = TradeType.MicroPay, TimeSpan? interval = null,
                                                    TimeSpan? timeout = null, CancellationToken cancel = default(CancellationToken))
        {
            return Task.Run(() => WaitForOrder(outTradeNo, tradeType, interval, timeout, cancel), cancel);
        }
        public static Task<CallResult> RefundAsync(RefundRequest req) { return Task.Run(() => Refund(req)); }
        public static Task<Refund> QueryRefundAsync(string outTradeNo, string outRefundNo = null) { return Task.Run(() => QueryRefund(outTradeNo, outRefundNo)); }
        public static Task<Refund> WaitForRefundAsync(string outTradeNo, string outRefundNo, TimeSpan? interval = null, TimeSpan? timeout = null,
                                                      CancellationToken cancel = default(CancellationToken))
        {
            return Task.Run(() => WaitForRefund(outTradeNo, outRefundNo, interval, timeout, cancel), cancel);
        }

        static T Wait<T>(Func<T> ask, Func<T, bool> done, TimeSpan interval, TimeSpan timeout, CancellationToken cancel)
        {
            if (interval <= TimeSpan.Zero) throw new ArgumentOutOfRangeException("interval", "must be positive");
            Stopwatch clock = Stopwatch.StartNew();
            while (true)
            {
                cancel.ThrowIfCancellationRequested();
                T answer = ask();
                TimeSpan left = timeout - clock.Elapsed;
                if (done(answer) || left <= TimeSpan.Zero) return answer;
                TimeSpan pause = left < interval ? left : interval;   // the last question comes at the deadline
                if (cancel.CanBeCanceled) cancel.WaitHandle.WaitOne(pause);
                else Thread.Sleep(pause);
            }
        }

        [DataContract]
        sealed class Wire
        {
            [DataMember(Name = "out_trade_no")] public string out_trade_no;
            [DataMember(Name = "pay_platform")] public int? pay_platform;
        }

        [DataContract]
        sealed class OrderRef
        {
            [DataMember(Name = "out_trade_no", Order = 1)] public string OutTradeNo;
            [DataMember(Name = "trade_type", Order = 2)] public int TradeType;
        }

        [DataContract]
        sealed class RefundRef
        {
            [DataMember(Name = "out_trade_no", Order = 1)] public string OutTradeNo;
            [DataMember(Name = "out_refund_no", Order = 2, EmitDefaultValue = false)] public string OutRefundNo;
        }
    }

    /// <summary>DataContractJsonSerializer, UTF-8, for the typed layer.</summary>
    static class Json
    {
        public static string Write<T>(T value)
        {
            using (var s = new MemoryStream())
            {
                new DataContractJsonSerializer(typeof(T)).WriteObject(s, value);
                return Encoding.UTF8.GetString(s.ToArray());
            }
        }

        /// <summary>The object, or null for empty text or text of another shape (the caller keeps
        /// the SDK's code and raw output either way).</summary>
        public static T Read<T>(string text) where T : class
        {
            if (string.IsNullOrEmpty(text)) return null;
            try
            {
                using (var s = new MemoryStream(Encoding.UTF8.GetBytes(text)))
                    return (T)new DataContractJsonSerializer(typeof(T)).ReadObject(s);
            }
            catch (Exception)   // SerializationException, XmlException, TargetInvocationException (mono), …
            {
                return null;
            }
        }

        /// <summary>A documented enum value, or null.</summary>
        public static E? Enum<E>(int? v) where E : struct
        {
            return v.HasValue && System.Enum.IsDefined(typeof(E), v.Value) ? (E?)(E)System.Enum.ToObject(typeof(E), v.Value) : null;
        }
    }
}

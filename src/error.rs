//! The one error type of the typed core (failures that are not server replies).

/// A failure before or outside the exchange with the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SdkError {
    /// No successful `cloud_pay_init` yet (or after `cloud_pay_fini`).
    NotInitialised,
    /// The caller's request is unusable; the text names the field.
    BadInput(String),
    /// The configuration is unusable; the text names the field.
    BadConfig(String),
    /// Refused locally by a money rule before anything was sent.
    Refused(String),
    /// A defect or resource failure inside the SDK.
    Internal(String),
}

impl std::fmt::Display for SdkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SdkError::NotInitialised => f.write_str("not initialised: call cloud_pay_init first"),
            SdkError::BadInput(m) => write!(f, "bad request: {m}"),
            SdkError::BadConfig(m) => write!(f, "bad configuration: {m}"),
            SdkError::Refused(m) => write!(f, "refused: {m}"),
            SdkError::Internal(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl std::error::Error for SdkError {}

impl SdkError {
    /// The same complaint about the configuration: the input readers speak of a caller's
    /// request, and CloudPayConf is read with them too.
    pub fn into_config(self) -> SdkError {
        match self {
            SdkError::BadInput(m) => SdkError::BadConfig(m),
            other => other,
        }
    }
}

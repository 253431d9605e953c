//! Bedrock runtime API name → IAM action mapping (scp-semantics.md §5.1): SCPs see the IAM
//! action, so e.g. `Converse` must be evaluated as `bedrock:InvokeModel`.

/// The IAM action authorized by a Bedrock runtime API operation, e.g. `Converse` →
/// `bedrock:InvokeModel`. Accepts the bare operation name or one prefixed with
/// `bedrock-runtime:`/`bedrock:`; returns `None` for operations not in the table.
pub fn bedrock_runtime_iam_action(operation: &str) -> Option<&'static str> {
    let op =
        operation.strip_prefix("bedrock-runtime:").or_else(|| operation.strip_prefix("bedrock:")).unwrap_or(operation);
    Some(match op {
        // §5.1: Converse/ConverseStream, bidirectional streaming and async invoke have no
        // IAM actions of their own.
        "InvokeModel" | "Converse" | "InvokeModelWithBidirectionalStream" | "StartAsyncInvoke" => "bedrock:InvokeModel",
        "InvokeModelWithResponseStream" | "ConverseStream" => "bedrock:InvokeModelWithResponseStream",
        "CountTokens" => "bedrock:CountTokens",
        "ApplyGuardrail" => "bedrock:ApplyGuardrail",
        "GetAsyncInvoke" => "bedrock:GetAsyncInvoke",
        "ListAsyncInvokes" => "bedrock:ListAsyncInvokes",
        _ => return None,
    })
}

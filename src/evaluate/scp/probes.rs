//! The probe matrix of scp-semantics.md §8.2: the synthetic requests BR.ORG.1–6 are judged
//! on, built once per set of parameters (with a placeholder account id) and reused for
//! every policy path whose result cannot depend on the account id (see `cache.rs`).
//!
//! Every probe starts from a "compliant baseline" — an approved region, an approved VPC
//! endpoint, an approved model, the required guardrail — and changes only the dimension its
//! control is about, so that one control's SCP cannot make another control look enforced
//! (an endpoint-only SCP must not pass the guardrail control, say).

use iam_policy::RequestContext;
use serde::Serialize;

use super::cache::AccountValue;
use crate::config::ControlParameters;

/// Account id used for probes whose result is account-independent; replaced by the real
/// account id when a verdict is rendered. 12 digits, like every account id, so that a
/// policy without digits where the account appears cannot tell the two apart.
pub(crate) const PLACEHOLDER_ACCOUNT: &str = "000000000000";
/// A model used when no approved model list is configured.
const DEFAULT_MODEL: &str = "anthropic.claude-3-haiku-20240307-v1:0";
/// A model no sensible approved list contains (BR.ORG.5).
pub(crate) const UNAPPROVED_MODEL: &str = "sweeper-probe.unapproved-model-v1:0";
/// Endpoint ids used when the configuration names none, and for "some other endpoint".
pub(crate) const ANY_VPCE: &str = "vpce-probe";
pub(crate) const OTHER_VPCE: &str = "vpce-unapproved-probe";

/// The Bedrock actions BR.ORG.1 probes in every region outside the approved list: the model,
/// agent and knowledge-base runtime, jobs, API keys, Mantle, and the AgentCore data plane
/// (agent runtimes, gateways, memory, code interpreter, browser), which has its own service
/// prefix: an SCP that fences `bedrock:*` alone leaves those open.
pub(crate) const REGION_ACTIONS: [&str; 18] = [
    "bedrock:InvokeModel",
    "bedrock:InvokeModelWithResponseStream",
    "bedrock:InvokeAgent",
    "bedrock:Retrieve",
    "bedrock:RetrieveAndGenerate",
    "bedrock:CreateModelInvocationJob",
    "bedrock:CreateModelCustomizationJob",
    "bedrock:ApplyGuardrail",
    "bedrock:CallWithBearerToken",
    "bedrock-mantle:CreateInference",
    "bedrock-mantle:CallWithBearerToken",
    "bedrock:ListFoundationModels",
    "bedrock-agentcore:InvokeAgentRuntime",
    "bedrock-agentcore:InvokeGateway",
    "bedrock-agentcore:CreateEvent",
    "bedrock-agentcore:RetrieveMemoryRecords",
    "bedrock-agentcore:InvokeCodeInterpreter",
    "bedrock-agentcore:StartBrowserSession",
];
/// Runtime actions BR.ORG.2 requires to arrive through a VPC endpoint (AgentCore's data plane
/// has its own interface endpoints, `bedrock-agentcore` and `bedrock-agentcore.gateway`).
pub(crate) const RUNTIME_ACTIONS: [&str; 12] = [
    "bedrock:InvokeModel",
    "bedrock:InvokeModelWithResponseStream",
    "bedrock:InvokeAgent",
    "bedrock:Retrieve",
    "bedrock:RetrieveAndGenerate",
    "bedrock:ApplyGuardrail",
    "bedrock-mantle:CreateInference",
    "bedrock-agentcore:InvokeAgentRuntime",
    "bedrock-agentcore:InvokeGateway",
    "bedrock-agentcore:CreateEvent",
    "bedrock-agentcore:RetrieveMemoryRecords",
    "bedrock-agentcore:InvokeCodeInterpreter",
];
/// Actions that take a guardrail (BR.ORG.3) and a model (BR.ORG.5).
pub(crate) const INVOKE_ACTIONS: [&str; 2] = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"];
/// Actions that stop or change audit logging, or remove or weaken the policy engine that
/// decides what an AgentCore gateway's tools may do (BR.ORG.4): switching a gateway to
/// LOG_ONLY goes through UpdateGateway, and deleting or rewriting its Cedar policies through
/// the policy-engine actions.
pub(crate) const AUDIT_ACTIONS: [&str; 12] = [
    "cloudtrail:StopLogging",
    "cloudtrail:DeleteTrail",
    "cloudtrail:UpdateTrail",
    "cloudtrail:PutEventSelectors",
    "bedrock:DeleteModelInvocationLoggingConfiguration",
    "bedrock:PutModelInvocationLoggingConfiguration",
    "bedrock-agentcore:UpdateGateway",
    "bedrock-agentcore:DeleteGateway",
    "bedrock-agentcore:UpdatePolicyEngine",
    "bedrock-agentcore:DeletePolicyEngine",
    "bedrock-agentcore:UpdatePolicy",
    "bedrock-agentcore:DeletePolicy",
];
/// Keys a synthetic request cannot know (§8.3). Principal tags are *missing*, not unknown:
/// the generic probe role has no tags (§8.2), and tag exemptions are reported as holes.
const UNKNOWN_KEYS: [&str; 7] = [
    "aws:RequestTag/*",
    "aws:ResourceTag/*",
    "aws:PrincipalOrgPaths",
    "aws:userid",
    "aws:SourceIdentity",
    "aws:CurrentTime",
    "aws:EpochTime",
];

/// Which SCP control a probe belongs to; the discriminant indexes per-control arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Ctl {
    Region = 0,
    Endpoint = 1,
    Guardrail = 2,
    Audit = 3,
    Models = 4,
    ApiKeys = 5,
}

/// What a probe must come to for its control to pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// Must be denied (explicitly or implicitly).
    Deny,
    /// Must not be denied.
    Allow,
    /// Reported only.
    Info,
}

/// Who calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Principal {
    /// `arn:<partition>:iam::<account>:role/probe`, no tags.
    GenericRole,
    /// `arn:<partition>:iam::<account>:root`.
    RootUser,
}

/// How the call arrives (§4, §8.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Network {
    /// Public endpoint: `aws:SourceIp` set, no VPC keys.
    Public,
    /// Through an approved VPC endpoint (any endpoint when none is configured).
    ApprovedEndpoint,
    /// Through some other VPC endpoint.
    OtherEndpoint,
    /// A forward access session: `aws:ViaAWSService = true`, no network keys.
    AwsService,
}

/// One synthetic request and what its control expects of it.
#[derive(Debug, Clone)]
pub(crate) struct Probe {
    pub ctl: Ctl,
    /// The check within the control (see `controls.rs`).
    pub check: &'static str,
    pub expect: Expect,
    pub region: String,
    pub principal: Principal,
    pub network: Network,
    /// The varied dimension in words, e.g. a model or endpoint id (may be empty).
    pub note: String,
    pub ctx: RequestContext,
}

/// The parameters probes depend on, comparable so an engine can tell whether it was built
/// for the parameters an evaluator is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProbeParams {
    pub approved_regions: Vec<String>,
    pub allow_global_inference: bool,
    pub approved_vpce_ids: Vec<String>,
    pub required_guardrail_arns: Vec<String>,
    pub approved_models: Vec<String>,
}

impl ProbeParams {
    pub(crate) fn of(p: &ControlParameters) -> Self {
        Self {
            approved_regions: p.approved_regions.iter().map(|r| r.as_str().to_owned()).collect(),
            allow_global_inference: p.allow_global_inference,
            approved_vpce_ids: p.approved_vpce_ids.clone(),
            required_guardrail_arns: p.required_guardrail_arns.clone(),
            approved_models: p.approved_models.clone(),
        }
    }
}

/// A catalog region: name and whether Bedrock is offered there.
#[derive(Debug, Clone)]
pub(crate) struct CatalogRegion {
    pub name: String,
    pub bedrock: bool,
}

/// The region value of global cross-region inference (§5.4).
pub(crate) const UNSPECIFIED: &str = "unspecified";

/// Builds every probe for `account` (the placeholder or a real id).
pub(crate) fn build(
    params: &ProbeParams,
    regions: &[CatalogRegion],
    partition: &str,
    org_id: &str,
    account: &str,
) -> Vec<Probe> {
    let b = Builder { params, partition, org_id, account };
    let approved = b.approved_regions(regions);
    let mut out = Vec::new();
    b.region_probes(regions, &mut out);
    for region in &approved {
        b.endpoint_probes(region, &mut out);
        b.guardrail_probes(region, &mut out);
        b.audit_probes(region, &mut out);
        b.model_probes(region, &mut out);
        b.api_key_probes(region, &mut out);
    }
    // IAM is global: its calls are authorized in us-east-1 (§4).
    for principal in [Principal::GenericRole, Principal::RootUser] {
        for network in [Network::Public, Network::ApprovedEndpoint] {
            let ctx = b
                .ctx(
                    "iam:CreateServiceSpecificCredential",
                    "us-east-1",
                    principal,
                    network,
                    &format!("arn:{partition}:iam::{account}:user/probe"),
                )
                .with_value("iam:ServiceSpecificCredentialServiceName", "bedrock.amazonaws.com");
            out.push(b.probe(Ctl::ApiKeys, "create", Expect::Deny, "us-east-1", principal, network, "", ctx));
        }
    }
    out
}

pub(crate) struct Builder<'a> {
    pub params: &'a ProbeParams,
    /// The organization's partition: every probe ARN is built in it.
    pub partition: &'a str,
    pub org_id: &'a str,
    pub account: &'a str,
}

impl Builder<'_> {
    /// Approved regions; with no list configured, every catalog region offering Bedrock
    /// (DESIGN §2: with no list, every swept region is approved).
    pub(crate) fn approved_regions(&self, regions: &[CatalogRegion]) -> Vec<String> {
        if self.params.approved_regions.is_empty() {
            regions.iter().filter(|r| r.bedrock).map(|r| r.name.clone()).collect()
        } else {
            self.params.approved_regions.clone()
        }
    }

    pub(crate) fn model(&self) -> String {
        self.params.approved_models.first().map_or_else(|| DEFAULT_MODEL.to_owned(), |m| model_id(m))
    }

    pub(crate) fn fm(&self, region: &str, model: &str) -> String {
        format!("arn:{}:bedrock:{region}::foundation-model/{model}", self.partition)
    }

    pub(crate) fn approved_vpce(&self) -> &str {
        self.params.approved_vpce_ids.first().map_or(ANY_VPCE, String::as_str)
    }

    /// The resource an action authorizes (§5.3); model actions use the probe model.
    pub(crate) fn resource(&self, action: &str, region: &str) -> String {
        let (p, acct) = (self.partition, self.account);
        let r = if region == UNSPECIFIED { "" } else { region };
        match action.rsplit(':').next().unwrap_or(action) {
            "InvokeModel"
            | "InvokeModelWithResponseStream"
            | "CreateModelInvocationJob"
            | "CreateModelCustomizationJob" => self.fm(r, &self.model()),
            "InvokeAgent" => format!("arn:{p}:bedrock:{r}:{acct}:agent-alias/PROBEAGENT/PROBEALIAS"),
            "Retrieve" | "RetrieveAndGenerate" => format!("arn:{p}:bedrock:{r}:{acct}:knowledge-base/PROBEKB"),
            "ApplyGuardrail" => format!("arn:{p}:bedrock:{r}:{acct}:guardrail/probeguardrail"),
            "StopLogging" | "DeleteTrail" | "UpdateTrail" | "PutEventSelectors" => {
                format!("arn:{p}:cloudtrail:{r}:{acct}:trail/probe-trail")
            }
            _ => match action.split_once(':') {
                Some(("bedrock-agentcore", name)) => agentcore_resource(p, r, acct, name),
                _ => "*".to_owned(),
            },
        }
    }

    /// A request with the always-present keys of §4 for `principal` over `network`.
    pub(crate) fn ctx(
        &self,
        action: &str,
        region: &str,
        principal: Principal,
        network: Network,
        resource: &str,
    ) -> RequestContext {
        let (p, acct) = (self.partition, self.account);
        let (arn, kind) = match principal {
            Principal::GenericRole => (format!("arn:{p}:iam::{acct}:role/probe"), "AssumedRole"),
            Principal::RootUser => (format!("arn:{p}:iam::{acct}:root"), "Account"),
        };
        let mut ctx = RequestContext::new(action, resource)
            .with_value("aws:RequestedRegion", region)
            .with_value("aws:PrincipalArn", arn)
            .with_value("aws:PrincipalAccount", acct)
            .with_value("aws:PrincipalOrgID", self.org_id)
            .with_value("aws:PrincipalType", kind)
            .with_value("aws:PrincipalIsAWSService", "false")
            .with_value("aws:SecureTransport", "true")
            .with_value("aws:ViaAWSService", if network == Network::AwsService { "true" } else { "false" });
        ctx = match network {
            Network::Public => ctx.with_value("aws:SourceIp", "203.0.113.10"),
            Network::ApprovedEndpoint | Network::OtherEndpoint => {
                let vpce = if network == Network::OtherEndpoint { OTHER_VPCE } else { self.approved_vpce() };
                ctx.with_value("aws:SourceVpce", vpce)
                    .with_value("aws:SourceVpc", "vpc-probe")
                    .with_value("aws:VpcSourceIp", "10.0.0.10")
            }
            Network::AwsService => ctx,
        };
        UNKNOWN_KEYS.iter().fold(ctx, |c, k| c.with_unknown(*k))
    }

    /// The compliant baseline for an action: approved model, required guardrail.
    pub(crate) fn baseline(
        &self,
        action: &str,
        region: &str,
        principal: Principal,
        network: Network,
    ) -> RequestContext {
        let ctx = self.ctx(action, region, principal, network, &self.resource(action, region));
        if !INVOKE_ACTIONS.contains(&action) {
            return ctx;
        }
        // A compliant call names a guardrail: the required one, or (none configured) any
        // guardrail, so a require-guardrail SCP does not make other controls look broken.
        match self.params.required_guardrail_arns.first() {
            Some(g) => ctx.with_value("bedrock:GuardrailIdentifier", g.as_str()),
            None => {
                let r = if region == UNSPECIFIED { "" } else { region };
                ctx.with_value(
                    "bedrock:GuardrailIdentifier",
                    format!("arn:{}:bedrock:{r}:{}:guardrail/probeguardrail", self.partition, self.account),
                )
            }
        }
    }

    #[expect(clippy::too_many_arguments, reason = "a probe is a point in a many-dimensional matrix")]
    pub(crate) fn probe(
        &self,
        ctl: Ctl,
        check: &'static str,
        expect: Expect,
        region: &str,
        principal: Principal,
        network: Network,
        note: &str,
        ctx: RequestContext,
    ) -> Probe {
        Probe { ctl, check, expect, region: region.to_owned(), principal, network, note: note.to_owned(), ctx }
    }
}

/// The AgentCore resource an action authorizes (Service Authorization Reference, resource
/// types of `bedrock-agentcore`); actions without one authorize `*`.
fn agentcore_resource(p: &str, r: &str, acct: &str, action: &str) -> String {
    let kind = match action {
        "InvokeAgentRuntime" => "runtime/probe_runtime-0123456789",
        "InvokeGateway" | "UpdateGateway" | "DeleteGateway" => "gateway/probe-gateway-0123456789",
        "CreateEvent" | "RetrieveMemoryRecords" => "memory/probe_memory-0123456789",
        "InvokeCodeInterpreter" => "code-interpreter-custom/probe_interpreter-0123456789",
        "StartBrowserSession" => "browser-custom/probe_browser-0123456789",
        "UpdatePolicyEngine" | "DeletePolicyEngine" => "policy-engine/probe_engine-0123456789",
        "UpdatePolicy" | "DeletePolicy" => "policy-engine/probe_engine-0123456789/policy/probe_policy-0123456789",
        _ => return "*".to_owned(),
    };
    format!("arn:{p}:bedrock-agentcore:{r}:{acct}:{kind}")
}

/// A model id from an approved-model entry: an ARN's resource part, or the entry itself;
/// wildcards become concrete text so the probe is a real request.
pub(crate) fn model_id(entry: &str) -> String {
    let id = entry.rsplit_once("foundation-model/").map_or(entry, |(_, id)| id);
    id.replace('*', "probe").replace('?', "x")
}

/// Every distinct probe value that contains `account`, with where the account sits in it.
pub(crate) fn account_values(probes: &[Probe], account: &str) -> Vec<AccountValue> {
    let mut out: Vec<AccountValue> = Vec::new();
    for p in probes {
        for (k, v) in p.ctx.keys() {
            for s in v.values() {
                let Some(start) = s.find(account) else { continue };
                let key = k.to_lowercase();
                if !out.iter().any(|a| a.key == key && a.value == *s) {
                    out.push(AccountValue { key, value: s.clone(), start, end: start + account.len() });
                }
            }
        }
    }
    out
}

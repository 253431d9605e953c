//! The per-control rows of the probe matrix (scp-semantics.md §8.2): which actions,
//! regions, principals and network paths BR.ORG.1–6 are judged on, and what each control
//! needs the SCPs to do with them.

use super::probes::{
    ANY_VPCE, AUDIT_ACTIONS, Builder, CatalogRegion, Ctl, Expect, INVOKE_ACTIONS, Network, OTHER_VPCE, Principal,
    Probe, REGION_ACTIONS, RUNTIME_ACTIONS, UNAPPROVED_MODEL, UNSPECIFIED, model_id,
};

impl Builder<'_> {
    /// BR.ORG.1: every action, every region outside the approved list (plus global
    /// inference unless allowed), both principals, public / other endpoint / AWS service.
    pub(crate) fn region_probes(&self, regions: &[CatalogRegion], out: &mut Vec<Probe>) {
        if self.params.approved_regions.is_empty() {
            return;
        }
        let mut outside: Vec<&str> = regions
            .iter()
            .map(|r| r.name.as_str())
            .filter(|r| !self.params.approved_regions.iter().any(|a| a == r))
            .collect();
        if !self.params.allow_global_inference {
            outside.push(UNSPECIFIED);
        }
        let inference =
            ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream", "bedrock:CreateModelInvocationJob"];
        let source = self.params.approved_regions.first().map_or("us-east-1", String::as_str);
        for region in outside {
            for action in REGION_ACTIONS {
                for principal in [Principal::GenericRole, Principal::RootUser] {
                    for network in [Network::Public, Network::OtherEndpoint, Network::AwsService] {
                        let mut ctx = self.baseline(action, region, principal, network);
                        if region == UNSPECIFIED && inference.contains(&action) {
                            // A global cross-region inference leg names its profile (§5.4).
                            let profile = format!(
                                "arn:{}:bedrock:{source}:{}:inference-profile/global.{}",
                                self.partition,
                                self.account,
                                self.model()
                            );
                            ctx = ctx.with_value("bedrock:InferenceProfileArn", profile);
                        }
                        out.push(self.probe(Ctl::Region, "outside", Expect::Deny, region, principal, network, "", ctx));
                    }
                }
            }
        }
    }

    /// BR.ORG.2: runtime calls from the internet and other endpoints denied, through
    /// approved endpoints not denied; AWS-service calls reported.
    pub(crate) fn endpoint_probes(&self, region: &str, out: &mut Vec<Probe>) {
        let p = Principal::GenericRole;
        for action in RUNTIME_ACTIONS {
            out.push(self.probe(
                Ctl::Endpoint,
                "public",
                Expect::Deny,
                region,
                p,
                Network::Public,
                "",
                self.baseline(action, region, p, Network::Public),
            ));
            let approved: Vec<&str> = if self.params.approved_vpce_ids.is_empty() {
                vec![ANY_VPCE]
            } else {
                self.params.approved_vpce_ids.iter().map(String::as_str).collect()
            };
            for vpce in approved {
                let ctx =
                    self.baseline(action, region, p, Network::ApprovedEndpoint).with_value("aws:SourceVpce", vpce);
                out.push(self.probe(
                    Ctl::Endpoint,
                    "approved",
                    Expect::Allow,
                    region,
                    p,
                    Network::ApprovedEndpoint,
                    vpce,
                    ctx,
                ));
            }
            if !self.params.approved_vpce_ids.is_empty() {
                let ctx = self.baseline(action, region, p, Network::OtherEndpoint);
                out.push(self.probe(
                    Ctl::Endpoint,
                    "other",
                    Expect::Deny,
                    region,
                    p,
                    Network::OtherEndpoint,
                    OTHER_VPCE,
                    ctx,
                ));
            }
            let ctx = self.baseline(action, region, p, Network::AwsService);
            out.push(self.probe(Ctl::Endpoint, "fas", Expect::Info, region, p, Network::AwsService, "", ctx));
        }
    }

    /// BR.ORG.3: invocation without a guardrail denied; with a required one not denied.
    pub(crate) fn guardrail_probes(&self, region: &str, out: &mut Vec<Probe>) {
        let (p, n) = (Principal::GenericRole, Network::ApprovedEndpoint);
        for action in INVOKE_ACTIONS {
            let mut ctx = self.baseline(action, region, p, n);
            ctx.remove("bedrock:GuardrailIdentifier");
            out.push(self.probe(Ctl::Guardrail, "none", Expect::Deny, region, p, n, "", ctx));
            for g in &self.params.required_guardrail_arns {
                let ctx = self.baseline(action, region, p, n).with_value("bedrock:GuardrailIdentifier", g.as_str());
                out.push(self.probe(Ctl::Guardrail, "required", Expect::Allow, region, p, n, g, ctx));
            }
        }
    }

    /// BR.ORG.4: audit-logging changes denied for both principals on both networks.
    pub(crate) fn audit_probes(&self, region: &str, out: &mut Vec<Probe>) {
        for action in AUDIT_ACTIONS {
            for principal in [Principal::GenericRole, Principal::RootUser] {
                for network in [Network::Public, Network::ApprovedEndpoint] {
                    let ctx = self.baseline(action, region, principal, network);
                    out.push(self.probe(Ctl::Audit, "change", Expect::Deny, region, principal, network, "", ctx));
                }
            }
        }
    }

    /// BR.ORG.5: other models (foundation model, inference profile, Mantle) denied,
    /// approved ones not denied. Only with an approved list.
    pub(crate) fn model_probes(&self, region: &str, out: &mut Vec<Probe>) {
        if self.params.approved_models.is_empty() {
            return;
        }
        let (p, n) = (Principal::GenericRole, Network::ApprovedEndpoint);
        let acct = self.account;
        for action in INVOKE_ACTIONS {
            let mut ctx = self.baseline(action, region, p, n);
            ctx.resource = self.fm(region, UNAPPROVED_MODEL);
            out.push(self.probe(Ctl::Models, "other", Expect::Deny, region, p, n, UNAPPROVED_MODEL, ctx));
            let profile =
                format!("arn:{}:bedrock:{region}:{acct}:inference-profile/us.{UNAPPROVED_MODEL}", self.partition);
            let mut ctx =
                self.baseline(action, region, p, n).with_value("bedrock:InferenceProfileArn", profile.as_str());
            ctx.resource = profile.clone();
            out.push(self.probe(Ctl::Models, "other", Expect::Deny, region, p, n, &profile, ctx));
            for m in &self.params.approved_models {
                let mut ctx = self.baseline(action, region, p, n);
                ctx.resource =
                    if m.starts_with("arn:") { m.replace('*', "probe") } else { self.fm(region, &model_id(m)) };
                out.push(self.probe(Ctl::Models, "approved", Expect::Allow, region, p, n, m, ctx));
            }
        }
        let ctx = self
            .baseline("bedrock-mantle:CreateInference", region, p, n)
            .with_value("bedrock-mantle:Model", UNAPPROVED_MODEL);
        out.push(self.probe(Ctl::Models, "other", Expect::Deny, region, p, n, UNAPPROVED_MODEL, ctx));
    }

    /// BR.ORG.6: long-term bearer tokens denied (Bedrock); Mantle reported.
    pub(crate) fn api_key_probes(&self, region: &str, out: &mut Vec<Probe>) {
        for principal in [Principal::GenericRole, Principal::RootUser] {
            for network in [Network::Public, Network::ApprovedEndpoint] {
                let ctx = self
                    .baseline("bedrock:CallWithBearerToken", region, principal, network)
                    .with_value("bedrock:BearerTokenType", "LONG_TERM");
                out.push(self.probe(Ctl::ApiKeys, "use", Expect::Deny, region, principal, network, "", ctx));
                let ctx = self
                    .baseline("bedrock-mantle:CallWithBearerToken", region, principal, network)
                    .with_value("bedrock-mantle:BearerTokenType", "LONG_TERM");
                out.push(self.probe(Ctl::ApiKeys, "mantle", Expect::Info, region, principal, network, "", ctx));
            }
        }
    }
}

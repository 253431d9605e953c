//! Amazon Bedrock: model-invocation logging configuration, guardrails, custom models, and
//! the guardrails an Organizations Bedrock policy enforces (read in the management account).

use aws_sdk_bedrock::types::GuardrailContentFilterType;

use crate::aws::AccountClients;
use crate::domain::{FilterStrength, GuardrailRef, Region};
use crate::snapshot::{
    BedrockJob, Collected, ContentFilter, CustomModel, EnforcedGuardrail, Guardrail, InvocationLogging, JobKind,
};

/// The IAM actions this collector calls (held against `deploy/member-role-policy.json`).
pub const ACTIONS: &[&str] = &[
    "bedrock:GetCustomModel",
    "bedrock:GetGuardrail",
    "bedrock:GetImportedModel",
    "bedrock:GetModelCustomizationJob",
    "bedrock:GetModelInvocationLoggingConfiguration",
    "bedrock:GetResourcePolicy",
    "bedrock:ListCustomModels",
    "bedrock:ListEnforcedGuardrailsConfiguration",
    "bedrock:ListGuardrails",
    "bedrock:ListImportedModels",
    "bedrock:ListModelCustomizationJobs",
    "bedrock:ListModelInvocationJobs",
];

/// What [`enforced_guardrail`] calls: the sweeper's own role needs these when it runs in the
/// management account (else the member role there is used).
pub const ENFORCED_GUARDRAIL_ACTIONS: &[&str] = &["bedrock:GetGuardrail", "bedrock:GetResourcePolicy"];

/// The region's invocation-logging configuration; `None` when none is set.
pub async fn invocation_logging(clients: &AccountClients, region: &Region) -> Collected<Option<InvocationLogging>> {
    let out = clients
        .bedrock(Some(region))
        .get_model_invocation_logging_configuration()
        .send()
        .await
        .map_err(|e| super::gap("bedrock", "GetModelInvocationLoggingConfiguration", Some(region), &e))?;
    // A configuration with no destination logs nothing: treat it as "not configured"
    // (the emulator answers `{}` for a region that was never configured).
    let configured = out.logging_config.filter(|c| c.s3_config().is_some() || c.cloud_watch_config().is_some());
    Ok(configured.map(|c| InvocationLogging {
        text_delivery: c.text_data_delivery_enabled().unwrap_or(false),
        image_delivery: c.image_data_delivery_enabled().unwrap_or(false),
        embedding_delivery: c.embedding_data_delivery_enabled().unwrap_or(false),
        s3_bucket: c.s3_config().map(|s| s.bucket_name().to_owned()).filter(|b| !b.is_empty()),
        s3_key_prefix: c.s3_config().and_then(|s| s.key_prefix()).filter(|p| !p.is_empty()).map(str::to_owned),
        log_group: c.cloud_watch_config().map(|w| w.log_group_name().to_owned()).filter(|g| !g.is_empty()),
        large_data_bucket: c
            .cloud_watch_config()
            .and_then(|w| w.large_data_delivery_s3_config())
            .map(|s| s.bucket_name().to_owned()),
        large_data_key_prefix: c
            .cloud_watch_config()
            .and_then(|w| w.large_data_delivery_s3_config())
            .and_then(|s| s.key_prefix())
            .filter(|p| !p.is_empty())
            .map(str::to_owned),
    }))
}

/// Every guardrail of the region (its working draft), with its PII and prompt-attack settings.
pub async fn guardrails(clients: &AccountClients, region: &Region) -> Collected<Vec<Guardrail>> {
    let client = clients.bedrock(Some(region));
    let summaries = guardrail_summaries(&client, region, None).await?;
    let mut guardrails = Vec::with_capacity(summaries.len());
    for s in summaries {
        let g = client
            .get_guardrail()
            .guardrail_identifier(s.id())
            .guardrail_version(s.version())
            .send()
            .await
            .map_err(|e| super::gap("bedrock", "GetGuardrail", Some(region), &e))?;
        let (pii_entities, regexes) =
            g.sensitive_information_policy().map_or((0, 0), |p| (p.pii_entities().len(), p.regexes().len()));
        let prompt_attack_strength = g.content_policy().and_then(|c| {
            c.filters()
                .iter()
                .find(|f| f.r#type() == &GuardrailContentFilterType::PromptAttack)
                .and_then(|f| FilterStrength::from_api(f.input_strength().as_str()))
        });
        let content_filters = g
            .content_policy()
            .map(|c| {
                c.filters()
                    .iter()
                    .map(|f| ContentFilter {
                        category: f.r#type().as_str().to_owned(),
                        input: FilterStrength::from_api(f.input_strength().as_str()),
                        output: FilterStrength::from_api(f.output_strength().as_str()),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let contextual_grounding = g
            .contextual_grounding_policy()
            .map(|p| p.filters().iter().map(|f| f.r#type().as_str().to_owned()).collect())
            .unwrap_or_default();
        // The draft's summary lists no published version: asking for the guardrail's
        // versions does (the working draft among them).
        let versions = guardrail_summaries(&client, region, Some(s.id())).await?;
        let numbered_versions =
            versions.iter().map(|v| v.version().to_owned()).filter(|v| v != "DRAFT" && !v.is_empty()).collect();
        guardrails.push(Guardrail {
            id: s.id().to_owned(),
            arn: s.arn().to_owned(),
            name: s.name().to_owned(),
            status: s.status().as_str().to_owned(),
            pii_entities,
            regexes,
            prompt_attack_strength,
            content_filters,
            contextual_grounding,
            kms_key_arn: g.kms_key_arn().filter(|k| !k.is_empty()).map(str::to_owned),
            numbered_versions,
        });
    }
    Ok(guardrails)
}

/// ListGuardrails: the working draft of every guardrail, or with `identifier` that
/// guardrail's versions.
async fn guardrail_summaries(
    client: &aws_sdk_bedrock::Client,
    region: &Region,
    identifier: Option<&str>,
) -> Collected<Vec<aws_sdk_bedrock::types::GuardrailSummary>> {
    client
        .list_guardrails()
        .set_guardrail_identifier(identifier.map(str::to_owned))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| super::gap("bedrock", "ListGuardrails", Some(region), &e))
}

/// The guardrails the account enforces on all its own model calls in the region
/// (account-level enforcement): at most one configuration per region.
pub async fn enforced_guardrails(
    clients: &AccountClients,
    region: &Region,
) -> Collected<Vec<crate::snapshot::AccountEnforcedGuardrail>> {
    let pages: Vec<_> = clients
        .bedrock(Some(region))
        .list_enforced_guardrails_configuration()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| super::gap("bedrock", "ListEnforcedGuardrailsConfiguration", Some(region), &e))?;
    Ok(pages
        .iter()
        .flat_map(|p| p.guardrails_config())
        .map(|c| crate::snapshot::AccountEnforcedGuardrail {
            config_id: c.config_id().unwrap_or_default().to_owned(),
            guardrail_arn: c.guardrail_arn().unwrap_or_default().to_owned(),
            guardrail_version: c.guardrail_version().unwrap_or_default().to_owned(),
            included_models: c.model_enforcement().map(|m| m.included_models().to_vec()).unwrap_or_default(),
            excluded_models: c.model_enforcement().map(|m| m.excluded_models().to_vec()).unwrap_or_default(),
        })
        .collect())
}

/// Every custom model of the region with the KMS key it is encrypted with.
pub async fn custom_models(clients: &AccountClients, region: &Region) -> Collected<Vec<CustomModel>> {
    let client = clients.bedrock(Some(region));
    let summaries: Vec<_> = client
        .list_custom_models()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| super::gap("bedrock", "ListCustomModels", Some(region), &e))?;
    let mut models = Vec::with_capacity(summaries.len());
    for s in summaries {
        let m = client
            .get_custom_model()
            .model_identifier(s.model_arn())
            .send()
            .await
            .map_err(|e| super::gap("bedrock", "GetCustomModel", Some(region), &e))?;
        models.push(CustomModel {
            arn: s.model_arn().to_owned(),
            name: s.model_name().to_owned(),
            kms_key_arn: m.model_kms_key_arn.filter(|k| !k.is_empty()),
            imported: false,
            base_model: Some(s.base_model_arn().to_owned()).filter(|b| !b.is_empty()),
        });
    }
    let imported: Vec<_> = client
        .list_imported_models()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| super::gap("bedrock", "ListImportedModels", Some(region), &e))?;
    for s in imported {
        let m = client
            .get_imported_model()
            .model_identifier(s.model_arn())
            .send()
            .await
            .map_err(|e| super::gap("bedrock", "GetImportedModel", Some(region), &e))?;
        models.push(CustomModel {
            arn: s.model_arn().to_owned(),
            name: s.model_name().to_owned(),
            kms_key_arn: m.model_kms_key_arn.filter(|k| !k.is_empty()),
            imported: true,
            base_model: None,
        });
    }
    Ok(models)
}

/// Model customization and batch inference jobs created in the last `window_days` days.
/// Batch-job summaries carry their output and VPC settings; a customization job is read
/// whole for them (GetModelCustomizationJob).
pub async fn jobs(clients: &AccountClients, region: &Region, window_days: i64) -> Collected<Vec<BedrockJob>> {
    let client = clients.bedrock(Some(region));
    let since = chrono::Utc::now() - chrono::Duration::days(window_days);
    let since = aws_smithy_types::DateTime::from_secs(since.timestamp());
    let customizations: Vec<_> = client
        .list_model_customization_jobs()
        .creation_time_after(since)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| super::gap("bedrock", "ListModelCustomizationJobs", Some(region), &e))?;
    let mut out = Vec::new();
    for s in customizations {
        let j = client
            .get_model_customization_job()
            .job_identifier(s.job_arn())
            .send()
            .await
            .map_err(|e| super::gap("bedrock", "GetModelCustomizationJob", Some(region), &e))?;
        out.push(BedrockJob {
            kind: JobKind::Customization,
            arn: s.job_arn().to_owned(),
            name: s.job_name().to_owned(),
            status: s.status().as_str().to_owned(),
            created: super::required_time(s.creation_time(), ("bedrock", "ListModelCustomizationJobs"), Some(region))?,
            output_key: j.output_model_kms_key_arn().filter(|k| !k.is_empty()).map(str::to_owned),
            vpc_subnets: j.vpc_config().map(|v| v.subnet_ids().to_vec()).unwrap_or_default(),
            model: Some(s.base_model_arn().to_owned()).filter(|m| !m.is_empty()),
        });
    }
    let batches: Vec<_> = client
        .list_model_invocation_jobs()
        .submit_time_after(since)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| super::gap("bedrock", "ListModelInvocationJobs", Some(region), &e))?;
    for b in batches {
        let output_key = b
            .output_data_config()
            .and_then(|o| o.as_s3_output_data_config().ok())
            .and_then(|s3| s3.s3_encryption_key_id())
            .filter(|k| !k.is_empty())
            .map(str::to_owned);
        out.push(BedrockJob {
            kind: JobKind::BatchInference,
            arn: b.job_arn().to_owned(),
            name: b.job_name().to_owned(),
            status: b.status().map(|s| s.as_str().to_owned()).unwrap_or_default(),
            created: super::required_time(b.submit_time(), ("bedrock", "ListModelInvocationJobs"), Some(region))?,
            output_key,
            vpc_subnets: b.vpc_config().map(|v| v.subnet_ids().to_vec()).unwrap_or_default(),
            model: Some(b.model_id().to_owned()).filter(|m| !m.is_empty()),
        });
    }
    Ok(out)
}

/// The guardrail version an Organizations Bedrock policy names, with what enforcement needs
/// of it: its status, whether it has an automated-reasoning policy, and its resource-based
/// policy. `None` when Bedrock says the guardrail or that version does not exist.
pub async fn enforced_guardrail(
    clients: &AccountClients,
    guardrail: &GuardrailRef,
) -> Collected<Option<EnforcedGuardrail>> {
    let region = &guardrail.region;
    let client = clients.bedrock(Some(region));
    let read =
        client.get_guardrail().guardrail_identifier(&guardrail.arn).guardrail_version(&guardrail.version).send().await;
    let g = match read {
        Ok(g) => g,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => return Ok(None),
        Err(e) => return Err(super::gap("bedrock", "GetGuardrail", Some(region), &e)),
    };
    let resource_policy = match client.get_resource_policy().resource_arn(&guardrail.arn).send().await {
        Ok(out) => Ok(out.resource_policy.filter(|p| !p.trim().is_empty())),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => Ok(None),
        Err(e) => Err(super::gap("bedrock", "GetResourcePolicy", Some(region), &e)),
    };
    Ok(Some(EnforcedGuardrail {
        arn: guardrail.arn.clone(),
        version: g.version().to_owned(),
        status: g.status().as_str().to_owned(),
        automated_reasoning: g.automated_reasoning_policy().is_some_and(|p| !p.policies().is_empty()),
        resource_policy,
    }))
}

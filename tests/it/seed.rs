//! Builds an organization in the emulator through the real SDK, with known
//! misconfigurations per account.

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_sdk_bedrock::types::{CloudWatchConfig, LoggingConfig, S3Config};
use aws_sdk_cloudtrail::types::{AdvancedEventSelector, AdvancedFieldSelector};
use aws_sdk_config::types::{ConfigurationRecorder, DeliveryChannel, RecordingGroup};
use aws_sdk_ec2::types::VpcEndpointType;
use aws_sdk_organizations::types::{OrganizationFeatureSet as FeatureSet, PolicyType};
use aws_sdk_s3::types::{
    ObjectOwnership, ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule,
};

use super::helpers::{sdk_config, sdk_config_with};

/// The organization skeleton: root, OUs, management account.
pub struct Org {
    pub endpoint: String,
    pub mgmt: SdkConfig,
    pub root: String,
    pub management_account: String,
}

impl Org {
    pub async fn create(endpoint: &str) -> Self {
        let mgmt = sdk_config(endpoint);
        let org = aws_sdk_organizations::Client::new(&mgmt);
        let created = org.create_organization().feature_set(FeatureSet::All).send().await.unwrap();
        let o = created.organization.unwrap();
        assert!(o.id.is_some_and(|id| id.starts_with("o-")));
        let root = org.list_roots().send().await.unwrap().roots.unwrap()[0].id.clone().unwrap();
        org.enable_policy_type().root_id(&root).policy_type(PolicyType::ServiceControlPolicy).send().await.unwrap();
        Self { endpoint: endpoint.to_owned(), management_account: o.master_account_id.unwrap(), mgmt, root }
    }

    pub fn orgs(&self) -> aws_sdk_organizations::Client {
        aws_sdk_organizations::Client::new(&self.mgmt)
    }

    pub async fn ou(&self, parent: &str, name: &str) -> String {
        self.orgs()
            .create_organizational_unit()
            .parent_id(parent)
            .name(name)
            .send()
            .await
            .unwrap()
            .organizational_unit
            .unwrap()
            .id
            .unwrap()
    }

    /// Creates an account and moves it under `parent`.
    pub async fn account(&self, name: &str, parent: &str) -> String {
        let status = self
            .orgs()
            .create_account()
            .email(format!("{name}@example.com"))
            .account_name(name)
            .send()
            .await
            .unwrap()
            .create_account_status
            .unwrap();
        let id = status.account_id.unwrap();
        if parent != self.root {
            self.orgs()
                .move_account()
                .account_id(&id)
                .source_parent_id(&self.root)
                .destination_parent_id(parent)
                .send()
                .await
                .unwrap();
        }
        id
    }

    /// SDK configuration acting inside `account` (moto maps assumed-role keys to the account).
    pub async fn member(&self, account: &str) -> SdkConfig {
        if account == self.management_account {
            return self.mgmt.clone();
        }
        sdk_config_with(&self.endpoint, role_credentials(&self.mgmt, account).await)
    }
}

/// Credentials of `account`'s OrganizationAccountAccessRole, assumed with `via` (through
/// the proxy, when `via` points at it, so that the proxy knows whose keys they are).
pub async fn role_credentials(via: &SdkConfig, account: &str) -> Credentials {
    let c = aws_sdk_sts::Client::new(via)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/OrganizationAccountAccessRole"))
        .role_session_name("seed")
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    Credentials::new(c.access_key_id, c.secret_access_key, Some(c.session_token), None, "seed")
}

pub fn s3(cfg: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(cfg).force_path_style(true).build())
}

pub async fn vpc(cfg: &SdkConfig) -> String {
    aws_sdk_ec2::Client::new(cfg)
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc
        .unwrap()
        .vpc_id
        .unwrap()
}

pub async fn endpoint(cfg: &SdkConfig, vpc_id: &str, service: &str, private_dns: bool, policy: Option<&str>) -> String {
    aws_sdk_ec2::Client::new(cfg)
        .create_vpc_endpoint()
        .vpc_id(vpc_id)
        .service_name(service)
        .vpc_endpoint_type(VpcEndpointType::Interface)
        .private_dns_enabled(private_dns)
        .set_policy_document(policy.map(str::to_owned))
        .send()
        .await
        .unwrap()
        .vpc_endpoint
        .unwrap()
        .vpc_endpoint_id
        .unwrap()
}

/// A customer-managed key, optionally rotating; returns its ARN.
pub async fn cmk(cfg: &SdkConfig, rotate: bool) -> String {
    let kms = aws_sdk_kms::Client::new(cfg);
    let meta = kms.create_key().send().await.unwrap().key_metadata.unwrap();
    if rotate {
        kms.enable_key_rotation().key_id(meta.key_id()).send().await.unwrap();
    }
    meta.arn.unwrap()
}

/// A bucket as S3 creates one today: ACLs disabled (Object Ownership BucketOwnerEnforced),
/// optionally with default encryption under `kms_key`.
pub async fn bucket(cfg: &SdkConfig, name: &str, kms_key: Option<&str>) {
    let s3 = s3(cfg);
    s3.create_bucket().bucket(name).object_ownership(ObjectOwnership::BucketOwnerEnforced).send().await.unwrap();
    if let Some(key) = kms_key {
        let rule = ServerSideEncryptionRule::builder()
            .apply_server_side_encryption_by_default(
                ServerSideEncryptionByDefault::builder()
                    .sse_algorithm(ServerSideEncryption::AwsKms)
                    .kms_master_key_id(key)
                    .build()
                    .unwrap(),
            )
            .build();
        s3.put_bucket_encryption()
            .bucket(name)
            .server_side_encryption_configuration(
                ServerSideEncryptionConfiguration::builder().rules(rule).build().unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
}

/// Sets a bucket's policy.
pub async fn bucket_policy(cfg: &SdkConfig, name: &str, policy: &str) {
    s3(cfg).put_bucket_policy().bucket(name).policy(policy).send().await.unwrap();
}

/// A bucket policy letting principals of another organization read every object.
pub fn partner_org_read(bucket: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"PartnerOrgRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{bucket}/*","Condition":{{"StringEquals":{{"aws:PrincipalOrgID":"o-partner1234"}}}}}}]}}"#
    )
}

/// Adds to a key's default policy a statement letting an account of another organization
/// decrypt with it.
pub async fn share_key_with_partner(cfg: &SdkConfig, key_arn: &str, partner: &str) {
    let owner = key_arn.split(':').nth(4).unwrap();
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[
            {{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{owner}:root"}},"Action":"kms:*","Resource":"*"}},
            {{"Sid":"PartnerDecrypt","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{partner}:root"}},"Action":"kms:Decrypt","Resource":"*"}}]}}"#
    );
    aws_sdk_kms::Client::new(cfg)
        .put_key_policy()
        .key_id(key_arn)
        .policy_name("default")
        .policy(policy)
        .send()
        .await
        .unwrap();
}

pub async fn log_group(cfg: &SdkConfig, name: &str, kms_key: Option<&str>, retention: Option<i32>) {
    let logs = aws_sdk_cloudwatchlogs::Client::new(cfg);
    logs.create_log_group().log_group_name(name).set_kms_key_id(kms_key.map(str::to_owned)).send().await.unwrap();
    if let Some(days) = retention {
        logs.put_retention_policy().log_group_name(name).retention_in_days(days).send().await.unwrap();
    }
}

pub async fn invocation_logging(cfg: &SdkConfig, bucket: Option<&str>, group: Option<&str>) {
    let mut lc = LoggingConfig::builder().text_data_delivery_enabled(true);
    if let Some(b) = bucket {
        lc = lc.s3_config(S3Config::builder().bucket_name(b).build().unwrap());
    }
    if let Some(g) = group {
        lc = lc.cloud_watch_config(
            CloudWatchConfig::builder()
                .log_group_name(g)
                .role_arn("arn:aws:iam::123456789012:role/logs")
                .build()
                .unwrap(),
        );
    }
    aws_sdk_bedrock::Client::new(cfg)
        .put_model_invocation_logging_configuration()
        .logging_config(lc.build())
        .send()
        .await
        .unwrap();
}

pub async fn config_recorder(cfg: &SdkConfig, bucket: &str, start: bool) {
    let config = aws_sdk_config::Client::new(cfg);
    config
        .put_configuration_recorder()
        .configuration_recorder(
            ConfigurationRecorder::builder()
                .name("default")
                .role_arn("arn:aws:iam::123456789012:role/config")
                .recording_group(RecordingGroup::builder().all_supported(true).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    config
        .put_delivery_channel()
        .delivery_channel(DeliveryChannel::builder().name("default").s3_bucket_name(bucket).build())
        .send()
        .await
        .unwrap();
    if start {
        config.start_configuration_recorder().configuration_recorder_name("default").send().await.unwrap();
    }
}

pub async fn stop_config_recorder(cfg: &SdkConfig) {
    aws_sdk_config::Client::new(cfg)
        .stop_configuration_recorder()
        .configuration_recorder_name("default")
        .send()
        .await
        .unwrap();
}

fn field(name: &str, values: &[&str]) -> AdvancedFieldSelector {
    AdvancedFieldSelector::builder()
        .field(name)
        .set_equals(Some(values.iter().map(|v| (*v).to_owned()).collect()))
        .build()
        .unwrap()
}

pub struct TrailSpec<'a> {
    pub name: &'a str,
    pub bucket: &'a str,
    pub multi_region: bool,
    pub organization: bool,
    pub validation: bool,
    pub kms_key: Option<&'a str>,
    pub logging: bool,
    /// Management events plus Bedrock data events via advanced selectors.
    pub bedrock_data_events: bool,
}

impl<'a> TrailSpec<'a> {
    /// `main`: an account's own multi-region, validated, logging trail without a KMS key.
    pub fn main(bucket: &'a str) -> Self {
        Self {
            name: "main",
            bucket,
            multi_region: true,
            organization: false,
            validation: true,
            kms_key: None,
            logging: true,
            bedrock_data_events: false,
        }
    }

    /// `org`: the organization trail everything asks for: multi-region, validated, logging,
    /// encrypted with `kms_key`, recording Bedrock data events.
    pub fn organization(bucket: &'a str, kms_key: &'a str) -> Self {
        Self {
            name: "org",
            bucket,
            multi_region: true,
            organization: true,
            validation: true,
            kms_key: Some(kms_key),
            logging: true,
            bedrock_data_events: true,
        }
    }
}

pub async fn trail(cfg: &SdkConfig, t: TrailSpec<'_>) -> String {
    let ct = aws_sdk_cloudtrail::Client::new(cfg);
    let arn = ct
        .create_trail()
        .name(t.name)
        .s3_bucket_name(t.bucket)
        .is_multi_region_trail(t.multi_region)
        .is_organization_trail(t.organization)
        .enable_log_file_validation(t.validation)
        .set_kms_key_id(t.kms_key.map(str::to_owned))
        .send()
        .await
        .unwrap()
        .trail_arn
        .unwrap();
    if t.logging {
        ct.start_logging().name(t.name).send().await.unwrap();
    }
    let mut selectors = vec![
        AdvancedEventSelector::builder()
            .name("management")
            .field_selectors(field("eventCategory", &["Management"]))
            .build()
            .unwrap(),
    ];
    if t.bedrock_data_events {
        for ty in [
            "AWS::Bedrock::AgentAlias",
            "AWS::Bedrock::KnowledgeBase",
            "AWS::Bedrock::Guardrail",
            "AWS::Bedrock::Model",
        ] {
            selectors.push(
                AdvancedEventSelector::builder()
                    .name(ty)
                    .field_selectors(field("eventCategory", &["Data"]))
                    .field_selectors(field("resources.type", &[ty]))
                    .build()
                    .unwrap(),
            );
        }
    }
    ct.put_event_selectors().trail_name(t.name).set_advanced_event_selectors(Some(selectors)).send().await.unwrap();
    arn
}

pub async fn role_with_policy(cfg: &SdkConfig, role: &str, policy_name: &str, document: &str) {
    let iam = aws_sdk_iam::Client::new(cfg);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    iam.create_role().role_name(role).assume_role_policy_document(trust).send().await.unwrap();
    let arn = iam
        .create_policy()
        .policy_name(policy_name)
        .policy_document(document)
        .send()
        .await
        .unwrap()
        .policy
        .unwrap()
        .arn
        .unwrap();
    iam.attach_role_policy().role_name(role).policy_arn(arn).send().await.unwrap();
}

pub async fn user_with_inline(cfg: &SdkConfig, user: &str, document: &str) {
    let iam = aws_sdk_iam::Client::new(cfg);
    iam.create_user().user_name(user).send().await.unwrap();
    iam.put_user_policy().user_name(user).policy_name("inline").policy_document(document).send().await.unwrap();
}

/// An AgentCore gateway to create in the emulator (moto keeps what it is given).
pub struct GatewaySpec<'a> {
    pub account: &'a str,
    pub name: &'a str,
    /// A JWT authorizer with this discovery URL; `None`: no inbound authorizer.
    pub jwt_discovery_url: Option<&'a str>,
    /// The policy engine attached and whether it enforces.
    pub policy_engine: Option<(&'a str, bool)>,
    pub debug_errors: bool,
    pub kms_key: Option<&'a str>,
    /// A Lambda target `RefundTool` declaring these tools inline.
    pub tools: &'a [&'a str],
}

/// Creates an AgentCore gateway with its Lambda target; returns its ARN.
pub async fn agentcore_gateway(cfg: &SdkConfig, spec: GatewaySpec<'_>) -> String {
    use aws_sdk_bedrockagentcorecontrol::types::{
        AuthorizerConfiguration, AuthorizerType, CustomJwtAuthorizerConfiguration, ExceptionLevel,
        GatewayPolicyEngineConfiguration, GatewayPolicyEngineMode, GatewayProtocolType, McpLambdaTargetConfiguration,
        McpTargetConfiguration, SchemaDefinition, SchemaType, TargetConfiguration, ToolDefinition, ToolSchema,
    };
    let client = aws_sdk_bedrockagentcorecontrol::Client::new(cfg);
    let account = spec.account;
    let mut create = client
        .create_gateway()
        .name(spec.name)
        .role_arn(format!("arn:aws:iam::{account}:role/gateway-{}", spec.name))
        .protocol_type(GatewayProtocolType::Mcp)
        .set_kms_key_arn(spec.kms_key.map(str::to_owned));
    create = match spec.jwt_discovery_url {
        Some(url) => create.authorizer_type(AuthorizerType::CustomJwt).authorizer_configuration(
            AuthorizerConfiguration::CustomJwtAuthorizer(
                CustomJwtAuthorizerConfiguration::builder()
                    .discovery_url(url)
                    .allowed_audience("refunds")
                    .build()
                    .unwrap(),
            ),
        ),
        None => create.authorizer_type(AuthorizerType::None),
    };
    if let Some((arn, enforce)) = spec.policy_engine {
        let mode = if enforce { GatewayPolicyEngineMode::Enforce } else { GatewayPolicyEngineMode::LogOnly };
        create = create.policy_engine_configuration(
            GatewayPolicyEngineConfiguration::builder().arn(arn).mode(mode).build().unwrap(),
        );
    }
    if spec.debug_errors {
        create = create.exception_level(ExceptionLevel::Debug);
    }
    let gateway = create.send().await.unwrap();
    let tools = spec
        .tools
        .iter()
        .map(|t| {
            ToolDefinition::builder()
                .name(*t)
                .description(format!("{t} for an order"))
                .input_schema(SchemaDefinition::builder().r#type(SchemaType::Object).build().unwrap())
                .build()
                .unwrap()
        })
        .collect();
    let lambda = McpLambdaTargetConfiguration::builder()
        .lambda_arn(format!("arn:aws:lambda:us-east-1:{account}:function:refunds"))
        .tool_schema(ToolSchema::InlinePayload(tools))
        .build()
        .unwrap();
    client
        .create_gateway_target()
        .gateway_identifier(gateway.gateway_id())
        .name("RefundTool")
        .target_configuration(TargetConfiguration::Mcp(McpTargetConfiguration::Lambda(lambda)))
        .send()
        .await
        .unwrap();
    gateway.gateway_arn().to_owned()
}

/// Creates an AgentCore agent runtime in the VPC or on the public network; returns its ARN.
pub async fn agentcore_runtime(cfg: &SdkConfig, name: &str, in_vpc: bool) -> String {
    use aws_sdk_bedrockagentcorecontrol::types::{
        AgentRuntimeArtifact, ContainerConfiguration, NetworkConfiguration, NetworkMode, VpcConfig,
    };
    let network = if in_vpc {
        NetworkConfiguration::builder()
            .network_mode(NetworkMode::Vpc)
            .network_mode_config(
                VpcConfig::builder()
                    .security_groups("sg-0123456789abcdef0")
                    .subnets("subnet-0123456789abcdef0")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    } else {
        NetworkConfiguration::builder().network_mode(NetworkMode::Public).build().unwrap()
    };
    aws_sdk_bedrockagentcorecontrol::Client::new(cfg)
        .create_agent_runtime()
        .agent_runtime_name(name)
        .agent_runtime_artifact(AgentRuntimeArtifact::ContainerConfiguration(
            ContainerConfiguration::builder()
                .container_uri("123456789012.dkr.ecr.us-east-1.amazonaws.com/agent:1")
                .build()
                .unwrap(),
        ))
        .role_arn("arn:aws:iam::123456789012:role/agent-runtime")
        .network_configuration(network)
        .send()
        .await
        .unwrap()
        .agent_runtime_arn()
        .to_owned()
}

/// Creates an AgentCore memory, optionally under `kms_key`; returns its ARN.
pub async fn agentcore_memory(cfg: &SdkConfig, name: &str, kms_key: Option<&str>) -> String {
    aws_sdk_bedrockagentcorecontrol::Client::new(cfg)
        .create_memory()
        .name(name)
        .event_expiry_duration(30)
        .set_encryption_key_arn(kms_key.map(str::to_owned))
        .send()
        .await
        .unwrap()
        .memory
        .unwrap()
        .arn()
        .to_owned()
}

"""Seeds a demo organization into a running moto server (endpoint in argv[1]).

Management account with an organization trail; OUs Workloads/Prod and Workloads/Sandbox;
a well-configured account, a badly configured one and a closed one; a region fence (SCP) on
Prod only. The organization trail's digest chains (BR.LOG.6) for the last six hours, as
CloudTrail writes them, signed with a key made here; one log file of the sandbox's chain is
edited afterwards. Writes the accounts the emulator proxy answers for, and the trail key's
public half, to argv[2] as JSON.
"""
import base64
import datetime
import gzip
import hashlib
import json
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

import boto3

ENDPOINT = sys.argv[1]
BASE = dict(endpoint_url=ENDPOINT, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")


def client(service, creds=None, **extra):
    kw = dict(BASE, **extra)
    if creds:
        kw.update(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                  aws_session_token=creds["SessionToken"])
    if service == "s3":
        kw["config"] = boto3.session.Config(s3={"addressing_style": "path"})
    return boto3.client(service, **kw)


org = client("organizations")
org_id = org.create_organization(FeatureSet="ALL")["Organization"]["Id"]
root = org.list_roots()["Roots"][0]["Id"]
org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
workloads = org.create_organizational_unit(ParentId=root, Name="Workloads")["OrganizationalUnit"]["Id"]
prod = org.create_organizational_unit(ParentId=workloads, Name="Prod")["OrganizationalUnit"]["Id"]
sandbox = org.create_organizational_unit(ParentId=workloads, Name="Sandbox")["OrganizationalUnit"]["Id"]


def account(name, parent):
    acct = org.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]["AccountId"]
    org.move_account(AccountId=acct, SourceParentId=root, DestinationParentId=parent)
    creds = client("sts").assume_role(RoleArn=f"arn:aws:iam::{acct}:role/OrganizationAccountAccessRole",
                                      RoleSessionName="demo-seed")["Credentials"]
    return acct, creds


# Management account: organization trail, multi-region, validated, CMK-encrypted.
kms = client("kms")
org_key = kms.create_key()["KeyMetadata"]["Arn"]
kms.enable_key_rotation(KeyId=org_key)
# Buckets are made as S3 makes them today: ACLs disabled (Object Ownership BucketOwnerEnforced).
client("s3").create_bucket(Bucket="demo-org-trail", ObjectOwnership="BucketOwnerEnforced")
ct = client("cloudtrail")
ct.create_trail(Name="org", S3BucketName="demo-org-trail", IsMultiRegionTrail=True, IsOrganizationTrail=True,
                EnableLogFileValidation=True, KmsKeyId=org_key)
ct.start_logging(Name="org")
selectors = [{"Name": "management", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]
for t in ["AWS::Bedrock::AgentAlias", "AWS::Bedrock::KnowledgeBase", "AWS::Bedrock::Guardrail", "AWS::Bedrock::Model"]:
    selectors.append({"Name": t, "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]},
                                                      {"Field": "resources.type", "Equals": [t]}]})
ct.put_event_selectors(TrailName="org", AdvancedEventSelectors=selectors)

# A well-configured production account.
good, creds = account("prod-genai", prod)
ec2 = client("ec2", creds)
vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
policy = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "bedrock:InvokeModel", "Resource": "*",
                          "Condition": {"StringEquals": {"aws:PrincipalOrgID": org_id}}}]}
ec2.create_vpc_endpoint(VpcId=vpc, ServiceName="com.amazonaws.us-east-1.bedrock-runtime", VpcEndpointType="Interface",
                        PrivateDnsEnabled=True, PolicyDocument=json.dumps(policy))
gkms = client("kms", creds)
key = gkms.create_key()["KeyMetadata"]["Arn"]
gkms.enable_key_rotation(KeyId=key)
gs3 = client("s3", creds)
gs3.create_bucket(Bucket="prod-genai-invocations", ObjectOwnership="BucketOwnerEnforced")
gs3.put_bucket_encryption(Bucket="prod-genai-invocations", ServerSideEncryptionConfiguration={"Rules": [
    {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}]})
logs = client("logs", creds)
logs.create_log_group(logGroupName="/bedrock/invocations", kmsKeyId=key)
logs.put_retention_policy(logGroupName="/bedrock/invocations", retentionInDays=400)
client("bedrock", creds).put_model_invocation_logging_configuration(loggingConfig={
    "s3Config": {"bucketName": "prod-genai-invocations"},
    "cloudWatchConfig": {"logGroupName": "/bedrock/invocations", "roleArn": f"arn:aws:iam::{good}:role/logs"},
    "textDataDeliveryEnabled": True})
gs3.create_bucket(Bucket="prod-genai-config", ObjectOwnership="BucketOwnerEnforced")
cfg = client("config", creds)
cfg.put_configuration_recorder(ConfigurationRecorder={"name": "default", "roleARN": f"arn:aws:iam::{good}:role/config",
                                                      "recordingGroup": {"allSupported": True}})
cfg.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "prod-genai-config"})
cfg.start_configuration_recorder(ConfigurationRecorderName="default")

# Prod is fenced to the approved region; the sandbox is not.
fence = org.create_policy(Name="bedrock-region-fence", Description="Bedrock only in us-east-1",
                          Type="SERVICE_CONTROL_POLICY", Content=json.dumps({"Version": "2012-10-17", "Statement": [
                              {"Sid": "DenyBedrockOutsideApprovedRegions", "Effect": "Deny",
                               "Action": ["bedrock:*", "bedrock-agentcore:*", "bedrock-mantle:*"], "Resource": "*",
                               "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1"]}}}]}))
org.attach_policy(PolicyId=fence["Policy"]["PolicySummary"]["Id"], TargetId=prod)

# A sandbox account with the usual shortcuts.
bad, creds = account("sandbox-experiments", sandbox)
ec2 = client("ec2", creds)
vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
ec2.create_vpc_endpoint(VpcId=vpc, ServiceName="com.amazonaws.us-east-1.bedrock", VpcEndpointType="Interface",
                        PrivateDnsEnabled=True)
blogs = client("logs", creds)
blogs.create_log_group(logGroupName="/bedrock/sandbox")
blogs.put_retention_policy(logGroupName="/bedrock/sandbox", retentionInDays=7)
# Its invocation logs also go to a bucket a vendor's account was once given read access to.
bs3 = client("s3", creds)
bs3.create_bucket(Bucket="sandbox-invocations", ObjectOwnership="BucketOwnerEnforced")
bs3.put_bucket_policy(Bucket="sandbox-invocations", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "VendorAnalytics", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
     "Action": ["s3:GetObject", "s3:ListBucket"],
     "Resource": ["arn:aws:s3:::sandbox-invocations", "arn:aws:s3:::sandbox-invocations/*"]}]}))
client("bedrock", creds).put_model_invocation_logging_configuration(loggingConfig={
    "cloudWatchConfig": {"logGroupName": "/bedrock/sandbox", "roleArn": f"arn:aws:iam::{bad}:role/logs"},
    "s3Config": {"bucketName": "sandbox-invocations"},
    "textDataDeliveryEnabled": True})
iam = client("iam", creds)
iam.create_user(UserName="data-scientist")
iam.put_user_policy(UserName="data-scientist", PolicyName="everything", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "bedrock:*", "Resource": "*"}]}))

# The sandbox's own fence has a hole: it denies Bedrock in Europe only.
hole = org.create_policy(Name="sandbox-no-europe", Description="No Bedrock in Europe",
                         Type="SERVICE_CONTROL_POLICY", Content=json.dumps({"Version": "2012-10-17", "Statement": [
                             {"Sid": "DenyBedrockInEurope", "Effect": "Deny", "Action": "bedrock:*", "Resource": "*",
                              "Condition": {"StringLike": {"aws:RequestedRegion": ["eu-*"]}}}]}))
org.attach_policy(PolicyId=hole["Policy"]["PolicySummary"]["Id"], TargetId=sandbox)

# The organization trail's digest chains: per account and swept region, six hourly digests
# listing two gzip log files each, signed over the documented data-signing string. moto never
# writes them; CloudTrail would. The proxy serves the public key as ListPublicKeys.
trail_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
public_der = trail_key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
fingerprint = hashlib.md5(public_der).hexdigest()
trail_s3 = client("s3")
hour = datetime.datetime.now(datetime.timezone.utc).replace(minute=1, second=0, microsecond=0)


def write_chain(acct, region, tamper):
    root_prefix = f"AWSLogs/{org_id}/{acct}/"
    previous = None
    for back in range(6, 0, -1):
        end = hour - datetime.timedelta(hours=back)
        stamp, day = end.strftime("%Y%m%dT%H%M%SZ"), end.strftime("%Y/%m/%d")
        logs = []
        for i in range(2):
            key = f"{root_prefix}CloudTrail/{region}/{day}/{acct}_CloudTrail_{region}_{stamp}_{i:04d}.json.gz"
            content = json.dumps({"Records": [{"eventSource": "bedrock.amazonaws.com", "eventName": "InvokeModel",
                                               "awsRegion": region, "eventID": f"{acct}-{stamp}-{i}"}]}).encode()
            trail_s3.put_object(Bucket="demo-org-trail", Key=key, Body=gzip.compress(content))
            logs.append({"s3Bucket": "demo-org-trail", "s3Object": key, "hashAlgorithm": "SHA-256",
                         "hashValue": hashlib.sha256(content).hexdigest()})
        digest_key = (f"{root_prefix}CloudTrail-Digest/{region}/{day}/"
                      f"{acct}_CloudTrail-Digest_{region}_org_us-east-1_{stamp}.json.gz")
        end_text = end.strftime("%Y-%m-%dT%H:%M:%SZ")
        digest = {"awsAccountId": acct, "digestStartTime": (end - datetime.timedelta(hours=1)).strftime(
                      "%Y-%m-%dT%H:%M:%SZ"), "digestEndTime": end_text,
                  "digestS3Bucket": "demo-org-trail", "digestS3Object": digest_key,
                  "digestPublicKeyFingerprint": fingerprint, "digestSignatureAlgorithm": "SHA256withRSA",
                  "previousDigestS3Bucket": previous and "demo-org-trail",
                  "previousDigestS3Object": previous and previous[0],
                  "previousDigestHashValue": previous and previous[2],
                  "previousDigestHashAlgorithm": previous and "SHA-256",
                  "previousDigestSignature": previous and previous[1], "logFiles": logs}
        content = json.dumps(digest).encode()
        sha = hashlib.sha256(content).hexdigest()
        signing = f"{end_text}\ndemo-org-trail/{digest_key}\n{sha}\n{previous[1] if previous else 'null'}"
        signature = trail_key.sign(signing.encode(), padding.PKCS1v15(), hashes.SHA256()).hex()
        trail_s3.put_object(Bucket="demo-org-trail", Key=digest_key, Body=gzip.compress(content),
                            Metadata={"signature": signature, "signature-algorithm": "SHA256withRSA"})
        previous = (digest_key, signature, sha)
    if tamper:
        # Someone rewrote a log file of the sandbox after delivery.
        trail_s3.put_object(Bucket="demo-org-trail", Key=logs[0]["s3Object"], Body=gzip.compress(b'{"Records":[]}'))


for acct in ["123456789012", good, bad]:
    for region in ["us-east-1", "eu-west-1"]:
        write_chain(acct, region, tamper=(acct == bad and region == "us-east-1"))

closed = org.create_account(Email="old@example.com", AccountName="retired")["CreateAccountStatus"]["AccountId"]
org.close_account(AccountId=closed)
with open(sys.argv[2], "w") as out:
    json.dump({"good": good, "good_key": key, "bad": bad,
               "trail_key": {"value": base64.b64encode(public_der).decode(), "fingerprint": fingerprint}}, out)
print(f"seeded organization: management 123456789012, prod-genai {good}, sandbox-experiments {bad}, retired {closed}",
      file=sys.stderr)

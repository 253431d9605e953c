"""Seeds a large organization into a running moto server for scripts/bench-sweep.sh.

usage: bench_sweep_seed.py ENDPOINT ACCOUNTS REGIONS [--accounts-only]

Three OU levels under the root (4 × 3 × 2), a few dozen SCPs spread over the root and the
OUs, and ACCOUNTS member accounts spread over the OUs. Unless --accounts-only (what a
discovery-only run needs), each account gets a multi-region trail with log file validation,
in every region of REGIONS (comma-separated) a VPC with a bedrock-runtime interface endpoint
and invocation logging to CloudWatch Logs, and a few IAM roles. Through boto3 (the AWS SDK
for Python), several accounts at a time. Prints a JSON summary on stdout.
"""
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

ENDPOINT, ACCOUNTS, REGIONS = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(",")
ACCOUNTS_ONLY = "--accounts-only" in sys.argv[4:]
BASE = dict(endpoint_url=ENDPOINT, aws_access_key_id="testing", aws_secret_access_key="testing")
CONFIG = Config(retries={"max_attempts": 8, "mode": "standard"}, max_pool_connections=32)
THREADS = 16


LOCAL = threading.local()


def client(service, creds=None, region=REGIONS[0]):
    # One session per thread: it caches the service models, which is most of what making a
    # client costs.
    if not hasattr(LOCAL, "session"):
        LOCAL.session = boto3.session.Session()
    kw = dict(BASE, region_name=region, config=CONFIG)
    if creds:
        kw.update(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                  aws_session_token=creds["SessionToken"])
    if service == "s3":
        kw["config"] = CONFIG.merge(Config(s3={"addressing_style": "path"}))
    return LOCAL.session.client(service, **kw)


started = time.monotonic()
org = client("organizations")
org.create_organization(FeatureSet="ALL")
root = org.list_roots()["Roots"][0]["Id"]
org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")

ous, leaves = [], []
for i in range(4):
    l1 = org.create_organizational_unit(ParentId=root, Name=f"Division-{i}")["OrganizationalUnit"]["Id"]
    ous.append(l1)
    for j in range(3):
        l2 = org.create_organizational_unit(ParentId=l1, Name=f"Unit-{i}-{j}")["OrganizationalUnit"]["Id"]
        ous.append(l2)
        for k in ["Prod", "Dev"]:
            l3 = org.create_organizational_unit(ParentId=l2, Name=f"{k}-{i}-{j}")["OrganizationalUnit"]["Id"]
            ous.append(l3)
            leaves.append(l3)

# 36 SCPs: region fences of different widths, action denies, a leave-organization guard.
targets = [root] + ous
policies = 0
for n in range(36):
    if n % 3 == 0:
        allowed = REGIONS[: 1 + n % len(REGIONS)]
        statement = {"Sid": f"Fence{n}", "Effect": "Deny", "Action": ["bedrock:*", "bedrock-agentcore:*"], "Resource": "*",
                     "Condition": {"StringNotEquals": {"aws:RequestedRegion": allowed}}}
    elif n % 3 == 1:
        statement = {"Sid": f"NoKeys{n}", "Effect": "Deny", "Action": ["iam:CreateServiceSpecificCredential"], "Resource": "*"}
    else:
        statement = {"Sid": f"Stay{n}", "Effect": "Deny", "Action": ["organizations:LeaveOrganization"], "Resource": "*"}
    policy = org.create_policy(Name=f"scp-{n}", Description="bench", Type="SERVICE_CONTROL_POLICY",
                               Content=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    org.attach_policy(PolicyId=policy["Policy"]["PolicySummary"]["Id"], TargetId=targets[n % len(targets)])
    policies += 1


def create(n):
    acct = org.create_account(Email=f"bench-{n}@example.com", AccountName=f"bench-{n:05d}")["CreateAccountStatus"]["AccountId"]
    org.move_account(AccountId=acct, SourceParentId=root, DestinationParentId=leaves[n % len(leaves)])
    return acct


with ThreadPoolExecutor(THREADS) as pool:
    accounts = list(pool.map(create, range(ACCOUNTS)))
created = time.monotonic()

LOGGING_ROLE = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "bedrock.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
READER = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["bedrock:InvokeModel", "bedrock:ListFoundationModels"], "Resource": "*"}]}


def configure(acct):
    creds = client("sts").assume_role(RoleArn=f"arn:aws:iam::{acct}:role/OrganizationAccountAccessRole",
                                      RoleSessionName="bench-seed")["Credentials"]
    iam = client("iam", creds)
    for name in ["bedrock-logging", "app-inference", "data-science"]:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(LOGGING_ROLE))
        iam.put_role_policy(RoleName=name, PolicyName="bedrock", PolicyDocument=json.dumps(READER))
    bucket = f"trail-{acct}"
    client("s3", creds).create_bucket(Bucket=bucket, ObjectOwnership="BucketOwnerEnforced")
    trail = client("cloudtrail", creds)
    trail.create_trail(Name="account-trail", S3BucketName=bucket, IsMultiRegionTrail=True, EnableLogFileValidation=True)
    trail.start_logging(Name="account-trail")
    for region in REGIONS:
        ec2 = client("ec2", creds, region)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=f"com.amazonaws.{region}.bedrock-runtime",
                                VpcEndpointType="Interface", PrivateDnsEnabled=True)
        logs = client("logs", creds, region)
        logs.create_log_group(logGroupName="/bedrock/invocations")
        logs.put_retention_policy(logGroupName="/bedrock/invocations", retentionInDays=400)
        client("bedrock", creds, region).put_model_invocation_logging_configuration(loggingConfig={
            "cloudWatchConfig": {"logGroupName": "/bedrock/invocations",
                                 "roleArn": f"arn:aws:iam::{acct}:role/bedrock-logging"},
            "textDataDeliveryEnabled": True})


if not ACCOUNTS_ONLY:
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(configure, accounts))
print(json.dumps({"accounts": len(accounts), "ous": len(ous), "scps": policies, "regions": REGIONS,
                  "seconds_creating_accounts": round(created - started, 1),
                  "seconds_configuring": round(time.monotonic() - created, 1)}))

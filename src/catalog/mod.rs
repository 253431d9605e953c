//! The control catalog: `findings/<family>/<ID>.toml`, embedded at build time, parsed and
//! validated like code (file stem = id, folder = family, unknown keys rejected, known
//! parameters only, every id has an evaluator and every evaluator an id), plus the region
//! list in `findings/regions.toml`.
//!
//! Syncing the catalog into the `controls` table is `store::controls`.

use serde::{Deserialize, Serialize};

use crate::config::ControlParameters;
use crate::domain::{ControlId, Region, Severity};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/catalog_files.rs"));
}

/// Why the catalog is invalid. Each variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// A file is not valid TOML for the schema.
    #[error("{file}: {message}")]
    Parse {
        /// The file, relative to `findings/`.
        file: String,
        /// The parser's message.
        message: String,
    },
    /// A file breaks a catalog rule.
    #[error("{file}: {message}")]
    Rule {
        /// The file, relative to `findings/`.
        file: String,
        /// The rule broken.
        message: String,
    },
    /// Catalog and evaluators disagree.
    #[error("catalog and evaluators disagree: {0}")]
    Evaluators(String),
}

/// Where a control is evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Once for the organization.
    Organization,
    /// Once per account.
    Account,
    /// Once per account and approved region.
    AccountRegion,
    /// Once per resource of a kind.
    Resource,
}

/// How to fix a failing control.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Remediation {
    /// Steps, in prose.
    pub text: String,
    /// The AWS documentation page.
    pub url: String,
    /// An example command or policy.
    #[serde(default)]
    pub example: Option<String>,
}

/// Compliance framework mappings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Compliance {
    /// NIST SP 800-53 rev. 5.
    pub nist_800_53_r5: Vec<String>,
    /// ISO/IEC 27001:2022 Annex A.
    pub iso_27001_2022: Vec<String>,
    /// SOC 2 trust services criteria.
    pub soc2: Vec<String>,
    /// PCI DSS 4.0.
    pub pci_dss_4: Vec<String>,
    /// HIPAA Security Rule.
    pub hipaa: Vec<String>,
    /// CIS AWS Foundations Benchmark, where a recommendation fits.
    #[serde(default)]
    pub cis_aws: Vec<String>,
}

impl Compliance {
    /// Every mapping as `FRAMEWORK id`, e.g. `NIST.800-53.r5 AC-4`.
    pub fn requirements(&self) -> Vec<String> {
        let frameworks: [(&str, &Vec<String>); 6] = [
            ("NIST.800-53.r5", &self.nist_800_53_r5),
            ("ISO.27001.2022", &self.iso_27001_2022),
            ("SOC2", &self.soc2),
            ("PCI.DSS.4.0", &self.pci_dss_4),
            ("HIPAA", &self.hipaa),
            ("CIS.AWS", &self.cis_aws),
        ];
        frameworks.iter().flat_map(|(f, ids)| ids.iter().map(move |id| format!("{f} {id}"))).collect()
    }
}

/// One control of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    /// The contract id, e.g. `BR.NET.1`.
    pub id: ControlId,
    /// The family; equals the folder name.
    pub family: String,
    /// The condition that passes, as a title.
    pub title: String,
    /// Severity of a failure.
    pub severity: Severity,
    /// Where it is evaluated.
    pub scope: Scope,
    /// Configuration keys (under `[controls]`) it reads.
    pub parameters: Vec<String>,
    /// Why it matters.
    pub rationale: String,
    /// How to fix it.
    pub remediation: Remediation,
    /// Framework mappings.
    pub compliance: Compliance,
    /// How the test suite exercises it against the emulator (the README's coverage table).
    pub emulator: EmulatorCoverage,
}

/// How the suite exercises a control against moto, for the README's coverage table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmulatorCoverage {
    /// What runs end to end against moto (`—` when nothing does, with why).
    pub end_to_end: String,
    /// What the test proxy answers in moto's place, or what only unit tests cover (`—` for nothing).
    pub replayed: String,
}

/// A region as listed in `findings/regions.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionInfo {
    /// The region name.
    pub name: Region,
    /// Whether Amazon Bedrock is offered there.
    pub bedrock: bool,
    /// Whether the region must be enabled by the account (opt-in region).
    pub opt_in: bool,
    /// Whether Amazon Bedrock AgentCore's control plane is offered there.
    pub agentcore: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionsFile {
    region: Vec<RegionInfo>,
}

/// The validated catalog.
#[derive(Debug, Clone)]
pub struct Catalog {
    controls: Vec<Control>,
    regions: Vec<RegionInfo>,
}

const REGIONS_FILE: &str = "regions.toml";

impl Catalog {
    /// The catalog embedded in this binary, parsed and checked against its rules (that every
    /// control has an evaluator is `evaluate::check_catalog`'s to say).
    pub fn embedded() -> Result<Self, CatalogError> {
        Self::from_files(embedded::CATALOG_FILES.iter().copied())
    }

    /// Parses and validates catalog files given as (path relative to `findings/`, text).
    pub fn from_files<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, CatalogError> {
        let mut controls = Vec::new();
        let mut regions = None;
        for (path, text) in files {
            if path == REGIONS_FILE {
                let parsed: RegionsFile = toml::from_str(text)
                    .map_err(|e| CatalogError::Parse { file: path.into(), message: e.to_string() })?;
                regions = Some(parsed.region);
                continue;
            }
            let control: Control =
                toml::from_str(text).map_err(|e| CatalogError::Parse { file: path.into(), message: e.to_string() })?;
            check_rules(path, &control)?;
            controls.push(control);
        }
        let regions = regions.ok_or_else(|| CatalogError::Rule {
            file: REGIONS_FILE.into(),
            message: "missing: the catalog needs its region list".into(),
        })?;
        // By family, then by number: BR.ORG.9 before BR.ORG.10.
        let key = |id: &str| {
            let (family, n) = id.rsplit_once('.').unwrap_or((id, ""));
            (family.to_owned(), n.parse::<u32>().unwrap_or(u32::MAX), id.to_owned())
        };
        controls.sort_by_key(|c| key(c.id.as_str()));
        if let Some(w) = controls.windows(2).find(|w| w[0].id == w[1].id) {
            return Err(CatalogError::Rule { file: w[0].id.to_string(), message: "defined twice".into() });
        }
        Ok(Self { controls, regions })
    }

    /// Every control, ordered by id.
    pub fn controls(&self) -> &[Control] {
        &self.controls
    }

    /// The control with this id.
    pub fn control(&self, id: &ControlId) -> Option<&Control> {
        self.controls.iter().find(|c| &c.id == id)
    }

    /// Every commercial region the catalog knows.
    pub fn regions(&self) -> &[RegionInfo] {
        &self.regions
    }

    /// The regions that offer Bedrock.
    pub fn bedrock_regions(&self) -> Vec<Region> {
        self.regions.iter().filter(|r| r.bedrock).map(|r| r.name.clone()).collect()
    }

    /// The regions that offer Bedrock AgentCore.
    pub fn agentcore_regions(&self) -> Vec<Region> {
        self.regions.iter().filter(|r| r.agentcore).map(|r| r.name.clone()).collect()
    }
}

fn check_rules(path: &str, c: &Control) -> Result<(), CatalogError> {
    let rule = |message: String| Err(CatalogError::Rule { file: path.into(), message });
    let (folder, file) = path.rsplit_once('/').unwrap_or(("", path));
    if file.strip_suffix(".toml") != Some(c.id.as_str()) {
        return rule(format!("file name must be `{}.toml`", c.id));
    }
    if folder != c.family {
        return rule(format!("family `{}` must equal the folder `{folder}`", c.family));
    }
    if c.title.trim().is_empty() || c.title.chars().count() > 200 {
        return rule("title must be 1 to 200 characters".into());
    }
    if c.rationale.trim().is_empty() || c.remediation.text.trim().is_empty() {
        return rule("rationale and remediation.text must not be empty".into());
    }
    if c.emulator.end_to_end.trim().is_empty() || c.emulator.replayed.trim().is_empty() {
        return rule(
            "emulator.end_to_end and emulator.replayed must say how the suite covers it (`—` for nothing)".into(),
        );
    }
    if !c.remediation.url.starts_with("https://") {
        return rule("remediation.url must be an https URL".into());
    }
    let known = ControlParameters::names();
    if let Some(p) = c.parameters.iter().find(|p| !known.contains(p)) {
        return rule(format!("unknown parameter `{p}`"));
    }
    let cmp = &c.compliance;
    if [&cmp.nist_800_53_r5, &cmp.iso_27001_2022, &cmp.soc2, &cmp.pci_dss_4, &cmp.hipaa].iter().any(|v| v.is_empty()) {
        return rule("every compliance framework except cis_aws needs at least one mapping".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_catalog_is_valid() {
        let catalog = Catalog::embedded().unwrap_or_else(|e| panic!("{e}"));
        assert!(catalog.bedrock_regions().iter().any(|r| r.as_str() == "us-east-1"));
    }

    const REGIONS: (&str, &str) =
        ("regions.toml", "[[region]]\nname = \"us-east-1\"\nbedrock = true\nopt_in = false\nagentcore = true\n");

    fn control_text(id: &str, family: &str, extra: &str) -> String {
        format!(
            "id = \"{id}\"\nfamily = \"{family}\"\ntitle = \"t\"\nseverity = \"high\"\nscope = \"account\"\nparameters = []\nrationale = \"r\"\n{extra}\n[remediation]\ntext = \"x\"\nurl = \"https://docs.aws.amazon.com/\"\n[compliance]\nnist_800_53_r5 = [\"AC-4\"]\niso_27001_2022 = [\"A.8.20\"]\nsoc2 = [\"CC6.6\"]\npci_dss_4 = [\"1.3.1\"]\nhipaa = [\"164.312(b)\"]\n[emulator]\nend_to_end = \"yes\"\nreplayed = \"—\"\n"
        )
    }

    #[test]
    fn rules_are_enforced_with_the_file_named() {
        let good = control_text("BR.NET.1", "network", "");
        assert!(Catalog::from_files([REGIONS, ("network/BR.NET.1.toml", good.as_str())]).is_ok());

        let cases = [
            ("network/BR.NET.2.toml", good.clone(), "file name"),
            ("iam/BR.NET.1.toml", good.clone(), "folder"),
            ("network/BR.NET.1.toml", control_text("BR.NET.1", "network", "colour = \"red\""), "unknown field"),
            ("network/BR.NET.1.toml", good.replace("[]", "[\"speed\"]"), "unknown parameter"),
            ("network/BR.NET.1.toml", good.replace("\"high\"", "\"urgent\""), "unknown variant"),
        ];
        for (path, text, expected) in cases {
            let err = Catalog::from_files([REGIONS, (path, text.as_str())]).unwrap_err().to_string();
            assert!(err.contains(expected), "{path}: {err}");
            assert!(err.contains(path) || err.contains("BR.NET"), "{err}");
        }
        let twice = Catalog::from_files([
            REGIONS,
            ("network/BR.NET.1.toml", good.as_str()),
            ("network/BR.NET.1.toml", good.as_str()),
        ]);
        assert!(twice.unwrap_err().to_string().contains("defined twice"));
    }
}

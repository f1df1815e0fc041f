//! The create request as sent, and its one `parse` into a validated spec.
//!
//! This module compiles into both the browser (to check the form before it is
//! sent) and the server (where the check is the law). Parsing reports every
//! problem at once, each tied to a JSON pointer, so the form can show each
//! message under its input and the API can list them in a problem document.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

use super::access::ProjectRef;
use super::auto_stop::{parse_auto_stop, AutoStop, AutoStopChoice};
use super::catalog::Catalog;

/// One problem with one field of a request.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// Where the problem is, as a JSON pointer in URI-fragment form,
    /// e.g. `#/configuration/cpuCores`.
    pub pointer: String,
    /// What is wrong, in words a person can act on.
    pub detail: String,
}

impl FieldError {
    /// A problem at `pointer`.
    pub fn new(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { pointer: pointer.into(), detail: detail.into() }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.pointer, self.detail)
    }
}

/// JSON pointers of the request's fields.
pub mod pointer {
    pub const ROOT: &str = "#";
    pub const NAME: &str = "#/name";
    pub const PROJECT: &str = "#/project";
    pub const CONFIGURATION: &str = "#/configuration";
    pub const CPU_CORES: &str = "#/configuration/cpuCores";
    pub const MEMORY_GB: &str = "#/configuration/memoryGB";
    pub const GPU: &str = "#/configuration/gpu";
    pub const STORAGE_GB: &str = "#/configuration/storageGB";
    pub const REGION: &str = "#/configuration/region";
}

/// A create request exactly as a client sent it: every field is whatever
/// JSON arrived, or `None` when it was missing or `null`.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateWorkstationRequest {
    /// 1–63 letters, digits, `-` and `_`, starting with a letter or digit; unique per user.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(value_type = String, example = "My-New-Workstation"))]
    pub name: Option<Value>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(value_type = super::workstation::Configuration))]
    pub configuration: Option<Value>,
    /// When it stops by itself; a timeout not given is the server's default.
    #[serde(default, rename = "autoStop")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<super::auto_stop::AutoStop>))]
    pub auto_stop: Option<Value>,
    /// The project to create it in (its id or name); without it, the
    /// caller's own account.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, example = "ml-team"))]
    pub project: Option<Value>,
    /// Fields the contract does not know; reported so typos do not pass silently.
    #[serde(flatten)]
    #[cfg_attr(feature = "ssr", schema(ignore))]
    pub unknown: Map<String, Value>,
}

/// The create form's fields as the browser submits them: all text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkstationForm {
    pub name: String,
    pub cpu_cores: String,
    pub memory_gb: String,
    pub gpu: String,
    pub storage_gb: String,
    pub region: String,
    /// Seconds, or empty for the server's default.
    #[serde(default)]
    pub idle_timeout: String,
    /// Seconds, or empty for the server's default.
    #[serde(default)]
    pub running_timeout: String,
}

impl CreateWorkstationRequest {
    /// Reads a request body that is already known to be JSON. Anything but an
    /// object is a field error at the root.
    pub fn from_json(value: Value) -> Result<Self, Vec<FieldError>> {
        match value {
            Value::Object(mut map) => Ok(Self {
                name: map.remove("name").filter(|v| !v.is_null()),
                configuration: map.remove("configuration").filter(|v| !v.is_null()),
                auto_stop: map.remove("autoStop").filter(|v| !v.is_null()),
                project: map.remove("project").filter(|v| !v.is_null()),
                unknown: map,
            }),
            other => Err(vec![FieldError::new(
                pointer::ROOT,
                format!("the request body must be a JSON object, not {}", json_kind(&other)),
            )]),
        }
    }

    /// Turns the form's text fields into a request, so the form and the API
    /// share one `parse`. Text that reads as a number becomes a JSON number;
    /// anything else stays text and `parse` explains what is wrong with it.
    pub fn from_form(form: &WorkstationForm) -> Self {
        fn text(s: &str) -> Option<Value> {
            Some(Value::String(s.to_owned()))
        }
        fn number(s: &str) -> Option<Value> {
            let s = s.trim();
            if s.is_empty() {
                return None;
            }
            let digits = s.strip_prefix('-').unwrap_or(s);
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                // Too many digits for i64 still reads as a number, out of range.
                let n = s.parse::<i64>().unwrap_or(if s.starts_with('-') { i64::MIN } else { i64::MAX });
                return Some(Value::from(n));
            }
            match s.parse::<f64>() {
                Ok(f) if f.is_finite() => serde_json::Number::from_f64(f).map(Value::Number),
                _ => Some(Value::String(s.to_owned())),
            }
        }
        let mut configuration = Map::new();
        let fields = [
            ("cpuCores", number(&form.cpu_cores)),
            ("memoryGB", number(&form.memory_gb)),
            ("gpu", Some(form.gpu.trim()).filter(|s| !s.is_empty()).and_then(text)),
            ("storageGB", number(&form.storage_gb)),
            ("region", Some(form.region.trim()).filter(|s| !s.is_empty()).and_then(text)),
        ];
        for (key, value) in fields {
            if let Some(value) = value {
                configuration.insert(key.to_owned(), value);
            }
        }
        Self {
            name: text(&form.name),
            configuration: Some(Value::Object(configuration)),
            auto_stop: auto_stop_from_form(&form.idle_timeout, &form.running_timeout),
            project: None,
            unknown: Map::new(),
        }
    }

    /// Checks every field against the catalog and returns the validated spec,
    /// or every problem found.
    pub fn parse(&self, catalog: &Catalog) -> Result<WorkstationSpec, Vec<FieldError>> {
        let mut errors = Vec::new();
        for key in self.unknown.keys() {
            errors.push(FieldError::new(
                format!("#/{}", escape_pointer(key)),
                "is not a field of this request",
            ));
        }

        let name = required(&self.name, pointer::NAME, &mut errors).and_then(|v| match v {
            Value::String(s) => WorkstationName::parse(s)
                .map_err(|detail| errors.push(FieldError::new(pointer::NAME, detail)))
                .ok(),
            other => {
                errors.push(FieldError::new(pointer::NAME, must_be("a string", other)));
                None
            }
        });

        let configuration = match &self.configuration {
            None => {
                errors.push(FieldError::new(pointer::CONFIGURATION, "is required"));
                None
            }
            Some(Value::Object(map)) => Some(parse_configuration(map, catalog, &mut errors)),
            Some(other) => {
                errors.push(FieldError::new(pointer::CONFIGURATION, must_be("an object", other)));
                None
            }
        };

        let auto_stop = match &self.auto_stop {
            None => Some(AutoStopChoice::default()),
            Some(value) => parse_auto_stop(value, &catalog.auto_stop, &mut errors),
        }
        .map(|choice| choice.over(catalog.auto_stop.defaults));

        let project = match &self.project {
            None => Some(None),
            Some(Value::String(s))
                if !s.trim().is_empty() && s.chars().count() <= WorkstationName::MAX_LEN =>
            {
                Some(Some(ProjectRef::parse(s)))
            }
            Some(Value::String(_)) => {
                errors.push(FieldError::new(pointer::PROJECT, "must be a project's id or name"));
                None
            }
            Some(Value::Number(n)) if n.as_i64().is_some_and(|id| id > 0) => {
                Some(n.as_i64().map(ProjectRef::Id))
            }
            Some(other) => {
                errors.push(FieldError::new(pointer::PROJECT, must_be("a project's id or name", other)));
                None
            }
        };

        match (name, configuration.flatten(), auto_stop, project) {
            (Some(name), Some(configuration), Some(auto_stop), Some(project)) if errors.is_empty() => {
                Ok(WorkstationSpec { name, configuration, auto_stop, project })
            }
            _ => Err(errors),
        }
    }
}

/// A form's two timeout fields (seconds; empty is not named) as `autoStop`.
pub(crate) fn auto_stop_from_form(idle: &str, running: &str) -> Option<Value> {
    let mut map = Map::new();
    for (key, text) in [("idleTimeoutSeconds", idle), ("runningTimeoutSeconds", running)] {
        let text = text.trim();
        if !text.is_empty() {
            let value = text.parse::<i64>().map_or_else(|_| Value::String(text.to_owned()), Value::from);
            map.insert(key.to_owned(), value);
        }
    }
    (!map.is_empty()).then_some(Value::Object(map))
}

pub(crate) fn parse_configuration(
    map: &Map<String, Value>,
    catalog: &Catalog,
    errors: &mut Vec<FieldError>,
) -> Option<ConfigurationSpec> {
    const KNOWN: [&str; 5] = ["cpuCores", "memoryGB", "gpu", "storageGB", "region"];
    for key in map.keys().filter(|k| !KNOWN.contains(&k.as_str())) {
        errors.push(FieldError::new(
            format!("{}/{}", pointer::CONFIGURATION, escape_pointer(key)),
            "is not a field of the configuration",
        ));
    }
    let field = |key: &str| map.get(key).cloned().filter(|v| !v.is_null());

    let cpu_cores = integer(field("cpuCores"), pointer::CPU_CORES, errors).and_then(|n| {
        CpuCores::parse(n, catalog).map_err(|d| errors.push(FieldError::new(pointer::CPU_CORES, d))).ok()
    });
    let memory_gb = integer(field("memoryGB"), pointer::MEMORY_GB, errors).and_then(|n| {
        MemoryGb::parse(n, catalog).map_err(|d| errors.push(FieldError::new(pointer::MEMORY_GB, d))).ok()
    });
    let storage_gb = integer(field("storageGB"), pointer::STORAGE_GB, errors).and_then(|n| {
        StorageGb::parse(n, catalog).map_err(|d| errors.push(FieldError::new(pointer::STORAGE_GB, d))).ok()
    });
    let gpu = required(&field("gpu"), pointer::GPU, errors).and_then(|v| match v {
        Value::String(s) => GpuType::parse(s, catalog)
            .map_err(|detail| errors.push(FieldError::new(pointer::GPU, detail)))
            .ok(),
        other => {
            errors.push(FieldError::new(pointer::GPU, must_be("a string", other)));
            None
        }
    });
    let region = required(&field("region"), pointer::REGION, errors).and_then(|v| match v {
        Value::String(s) => Region::parse(s, catalog)
            .map_err(|detail| errors.push(FieldError::new(pointer::REGION, detail)))
            .ok(),
        other => {
            errors.push(FieldError::new(pointer::REGION, must_be("a string", other)));
            None
        }
    });

    Some(ConfigurationSpec {
        cpu_cores: cpu_cores?,
        memory_gb: memory_gb?,
        gpu: gpu?,
        storage_gb: storage_gb?,
        region: region?,
    })
}

fn required<'a>(value: &'a Option<Value>, at: &str, errors: &mut Vec<FieldError>) -> Option<&'a Value> {
    if value.is_none() {
        errors.push(FieldError::new(at, "is required"));
    }
    value.as_ref()
}

/// Reads a whole number; integers too large for `i64` saturate so that the
/// range check reports them as out of range.
pub(crate) fn integer(value: Option<Value>, at: &str, errors: &mut Vec<FieldError>) -> Option<i64> {
    let detail = match required(&value, at, errors)? {
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => return Some(i),
            (None, Some(_)) => return Some(i64::MAX),
            (None, None) => "must be a whole number".to_owned(),
        },
        other => must_be("a whole number", other),
    };
    errors.push(FieldError::new(at, detail));
    None
}

pub(crate) fn must_be(what: &str, got: &Value) -> String {
    format!("must be {what}, not {}", json_kind(got))
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// RFC 6901 escaping of one reference token.
pub(crate) fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// A validated workstation name: 1–63 letters, digits, `-` or `_`,
/// starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct WorkstationName(String);

impl WorkstationName {
    /// The longest name allowed.
    pub const MAX_LEN: usize = 63;

    /// Checks a name.
    pub fn parse(s: &str) -> Result<Self, String> {
        let Some(first) = s.chars().next() else {
            return Err("must not be empty".into());
        };
        if s.chars().count() > Self::MAX_LEN {
            return Err(format!("must be at most {} characters", Self::MAX_LEN));
        }
        if !first.is_ascii_alphanumeric() {
            return Err("must start with a letter or a digit".into());
        }
        if let Some(bad) = s.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_')) {
            let shown = if bad.is_whitespace() { "whitespace".to_owned() } else { format!("'{bad}'") };
            return Err(format!("may contain only letters, digits, '-' and '_' (found {shown})"));
        }
        Ok(Self(s.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A validated number of CPU cores, within the catalog's range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CpuCores(u32);

/// A validated amount of memory in GB, within the catalog's range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MemoryGb(u32);

/// A validated amount of storage in GB, within the catalog's range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StorageGb(u32);

macro_rules! number_newtype {
    ($ty:ident, $field:ident, $unit:literal) => {
        impl $ty {
            /// Checks a value against the catalog's range.
            pub fn parse(value: i64, catalog: &Catalog) -> Result<Self, String> {
                let range = catalog.$field;
                if range.contains(value) {
                    u32::try_from(value).map(Self).map_err(|e| e.to_string())
                } else {
                    Err(format!("must be between {}{} and {}{}", range.min, $unit, range.max, $unit))
                }
            }

            /// The number.
            pub fn get(self) -> u32 {
                self.0
            }
        }
    };
}
number_newtype!(CpuCores, cpu_cores, "");
number_newtype!(MemoryGb, memory_gb, " GB");
number_newtype!(StorageGb, storage_gb, " GB");

/// A GPU type the catalog offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GpuType(String);

impl GpuType {
    /// Checks that the catalog offers this GPU type.
    pub fn parse(s: &str, catalog: &Catalog) -> Result<Self, String> {
        match catalog.gpu(s) {
            Some(gpu) => Ok(Self(gpu.id.clone())),
            None => Err(format!(
                "is not an available GPU type; choose one of: {}",
                catalog.gpus.iter().map(|g| g.id.as_str()).collect::<Vec<_>>().join(", ")
            )),
        }
    }

    /// The GPU type's id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A region the catalog offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Region(String);

impl Region {
    /// Checks that the catalog offers this region.
    pub fn parse(s: &str, catalog: &Catalog) -> Result<Self, String> {
        match catalog.region(s) {
            Some(region) => Ok(Self(region.id.clone())),
            None => Err(format!(
                "is not an available region; choose one of: {}",
                catalog.regions.iter().map(|r| r.id.as_str()).collect::<Vec<_>>().join(", ")
            )),
        }
    }

    /// The region's code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigurationSpec {
    pub cpu_cores: CpuCores,
    pub memory_gb: MemoryGb,
    pub gpu: GpuType,
    pub storage_gb: StorageGb,
    pub region: Region,
}

/// A validated create request: only `parse` makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkstationSpec {
    pub name: WorkstationName,
    pub configuration: ConfigurationSpec,
    /// Its timeouts, the server's defaults where the request named none.
    pub auto_stop: AutoStop,
    /// The project named to hold it; `None` is the caller's own account.
    pub project: Option<ProjectRef>,
}

#[cfg(test)]
mod tests;

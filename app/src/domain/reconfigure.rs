//! Reconfiguring a workstation: any subset of its configuration, checked by
//! the same rules as creating one, plus the rules of change (storage only
//! grows, the region stays).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::auto_stop::{self, parse_auto_stop, AutoStopChoice};
use super::catalog::Catalog;
use super::request::{escape_pointer, must_be, parse_configuration, pointer, ConfigurationSpec, FieldError};
use super::workstation::Configuration;

/// When a change to a running workstation takes effect.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Apply {
    /// Now (the workstation must not be running).
    Now,
    /// At the next launch (allowed while running).
    NextStart,
}

/// A `PATCH` body exactly as sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReconfigureRequest {
    pub configuration: Option<Value>,
    pub apply: Option<Value>,
    pub auto_stop: Option<Value>,
    pub unknown: Map<String, Value>,
}

/// The reconfigure form's fields as the browser submits them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconfigureForm {
    pub cpu_cores: String,
    pub memory_gb: String,
    pub gpu: String,
    pub storage_gb: String,
    /// `now` or `nextStart`.
    pub apply: String,
}

/// The auto-stop form's fields as the browser submits them (seconds).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoStopForm {
    #[serde(default)]
    pub idle_timeout: String,
    #[serde(default)]
    pub running_timeout: String,
}

/// JSON pointer of `apply`.
pub const APPLY_POINTER: &str = "#/apply";

impl ReconfigureRequest {
    /// Reads a JSON body; anything but an object is a root error.
    pub fn from_json(value: Value) -> Result<Self, Vec<FieldError>> {
        match value {
            Value::Object(mut map) => Ok(Self {
                configuration: map.remove("configuration").filter(|v| !v.is_null()),
                apply: map.remove("apply").filter(|v| !v.is_null()),
                auto_stop: map.remove("autoStop").filter(|v| !v.is_null()),
                unknown: map,
            }),
            _ => Err(vec![FieldError::new(pointer::ROOT, "the request body must be a JSON object")]),
        }
    }

    /// The form's text as a request (numbers that read as numbers become numbers).
    pub fn from_form(form: &ReconfigureForm) -> Self {
        let text_form = super::request::WorkstationForm {
            name: String::new(),
            cpu_cores: form.cpu_cores.clone(),
            memory_gb: form.memory_gb.clone(),
            gpu: form.gpu.clone(),
            storage_gb: form.storage_gb.clone(),
            region: String::new(),
            ..Default::default()
        };
        let as_create = super::request::CreateWorkstationRequest::from_form(&text_form);
        let apply = Some(form.apply.trim()).filter(|a| !a.is_empty()).map(|a| Value::String(a.to_owned()));
        Self { configuration: as_create.configuration, apply, auto_stop: None, unknown: Map::new() }
    }

    /// The auto-stop form's fields (seconds; empty keeps a timeout) as a request.
    pub fn from_auto_stop_form(form: &AutoStopForm) -> Self {
        let auto_stop = super::request::auto_stop_from_form(&form.idle_timeout, &form.running_timeout)
            .or_else(|| Some(Value::Object(Map::new())));
        Self { auto_stop, ..Self::default() }
    }

    /// Checks the change against the current configuration and the catalog.
    pub fn parse(
        &self,
        current: &Configuration,
        catalog: &Catalog,
    ) -> Result<Reconfiguration, Vec<FieldError>> {
        let mut errors = Vec::new();
        for key in self.unknown.keys() {
            errors.push(FieldError::new(
                format!("#/{}", escape_pointer(key)),
                "is not a field of this request",
            ));
        }
        let apply = match &self.apply {
            None => Some(Apply::Now),
            Some(Value::String(s)) if s == "now" => Some(Apply::Now),
            Some(Value::String(s)) if s == "nextStart" => Some(Apply::NextStart),
            Some(other) => {
                let detail = if other.is_string() {
                    "must be \"now\" or \"nextStart\"".to_owned()
                } else {
                    must_be("a string (\"now\" or \"nextStart\")", other)
                };
                errors.push(FieldError::new(APPLY_POINTER, detail));
                None
            }
        };
        let auto_stop = self.auto_stop.as_ref().map(|value| {
            let choice = parse_auto_stop(value, &catalog.auto_stop, &mut errors);
            if choice == Some(AutoStopChoice::default()) && self.configuration.is_none() {
                errors.push(FieldError::new(auto_stop::POINTER, "must name at least one field to change"));
            }
            choice
        });
        let configuration = match &self.configuration {
            None if auto_stop.is_some() => None,
            None => {
                errors
                    .push(FieldError::new(pointer::CONFIGURATION, "is required: give the fields to change"));
                return Err(errors);
            }
            Some(Value::Object(map)) if map.is_empty() => {
                errors
                    .push(FieldError::new(pointer::CONFIGURATION, "must name at least one field to change"));
                return Err(errors);
            }
            Some(Value::Object(map)) => Some(configuration_change(map, current, catalog, &mut errors)),
            Some(other) => {
                errors.push(FieldError::new(pointer::CONFIGURATION, must_be("an object", other)));
                return Err(errors);
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        match (configuration, apply, auto_stop) {
            (Some(Some(spec)), Some(apply), auto_stop) => {
                Ok(Reconfiguration { configuration: Some((spec, apply)), auto_stop: auto_stop.flatten() })
            }
            (None, Some(_), Some(Some(choice))) => {
                Ok(Reconfiguration { configuration: None, auto_stop: Some(choice) })
            }
            _ => Err(errors),
        }
    }
}

/// A checked `PATCH`: what changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconfiguration {
    /// The new configuration and when it applies, if the request changes it.
    pub configuration: Option<(ConfigurationSpec, Apply)>,
    /// New auto-stop timeouts, if the request names any: they apply at once, in any status.
    pub auto_stop: Option<AutoStopChoice>,
}

/// The configuration `patch` makes of `current`, checked by the create rules
/// and the rules of change (storage only grows, the region stays).
fn configuration_change(
    patch: &Map<String, Value>,
    current: &Configuration,
    catalog: &Catalog,
    errors: &mut Vec<FieldError>,
) -> Option<ConfigurationSpec> {
    if let Some(region) = patch.get("region") {
        if region.as_str() != Some(current.region.as_str()) {
            errors.push(FieldError::new(
                pointer::REGION,
                format!("cannot change: a workstation stays in its region ({})", current.region),
            ));
        }
    }
    let mut merged = match serde_json::to_value(current) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    for (key, value) in patch {
        if key != "region" {
            merged.insert(key.clone(), value.clone());
        }
    }
    let spec = parse_configuration(&merged, catalog, errors);
    // Reported with the other problems, unless the value is already wrong.
    let shrinks =
        merged.get("storageGB").and_then(Value::as_i64).is_some_and(|s| s < i64::from(current.storage_gb));
    if shrinks && !errors.iter().any(|e| e.pointer == pointer::STORAGE_GB) {
        errors.push(FieldError::new(
            pointer::STORAGE_GB,
            format!("can only grow: it is {} GB now", current.storage_gb),
        ));
    }
    spec
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalog::{GpuOption, Range, RegionOption};
    use serde_json::json;

    fn catalog() -> Catalog {
        Catalog {
            cpu_cores: Range { min: 1, max: 128 },
            memory_gb: Range { min: 1, max: 1024 },
            storage_gb: Range { min: 16, max: 16384 },
            gpus: vec![
                GpuOption { id: "NVIDIA L4".into(), memory_gb: 24, description: String::new() },
                GpuOption { id: "NVIDIA A10G".into(), memory_gb: 24, description: String::new() },
            ],
            regions: vec![RegionOption { id: "us-west-2".into(), name: "US West (Oregon)".into() }],
            capacity: Default::default(),
            auto_stop: Default::default(),
        }
    }

    fn current() -> Configuration {
        Configuration {
            cpu_cores: 8,
            memory_gb: 32,
            gpu: "NVIDIA L4".into(),
            storage_gb: 512,
            region: "us-west-2".into(),
        }
    }

    fn parse(body: Value) -> Result<(Configuration, Apply), Vec<(String, String)>> {
        ReconfigureRequest::from_json(body)
            .and_then(|r| r.parse(&current(), &catalog()))
            .map(|r| r.configuration.expect("a configuration change"))
            .map(|(spec, apply)| (Configuration::from(&spec), apply))
            .map_err(|errs| {
                let mut v: Vec<_> = errs.into_iter().map(|e| (e.pointer, e.detail)).collect();
                v.sort();
                v
            })
    }

    #[test]
    fn a_subset_changes_only_those_fields() {
        let (c, apply) = parse(json!({"configuration": {"cpuCores": 16}})).unwrap();
        assert_eq!(c, Configuration { cpu_cores: 16, ..current() });
        assert_eq!(apply, Apply::Now);
        let (c, apply) =
            parse(json!({"configuration": {"gpu": "NVIDIA A10G", "storageGB": 1024}, "apply": "nextStart"}))
                .unwrap();
        assert_eq!(c.gpu, "NVIDIA A10G");
        assert_eq!(c.storage_gb, 1024);
        assert_eq!(apply, Apply::NextStart);
        // Naming the current region is fine.
        assert!(parse(json!({"configuration": {"region": "us-west-2", "memoryGB": 64}})).is_ok());
    }

    #[test]
    fn the_create_rules_apply_and_the_change_rules_too() {
        assert_eq!(
            parse(json!({"configuration": {"cpuCores": 0, "storageGB": 256}})).unwrap_err(),
            [
                ("#/configuration/cpuCores".to_owned(), "must be between 1 and 128".to_owned()),
                ("#/configuration/storageGB".to_owned(), "can only grow: it is 512 GB now".to_owned()),
            ]
        );
        assert_eq!(
            parse(json!({"configuration": {"region": "eu-west-1"}})).unwrap_err(),
            [(
                "#/configuration/region".to_owned(),
                "cannot change: a workstation stays in its region (us-west-2)".to_owned()
            )]
        );
        assert_eq!(
            parse(json!({"configuration": {"memoryGB": null}})).unwrap_err(),
            [("#/configuration/memoryGB".to_owned(), "is required".to_owned())]
        );
        assert_eq!(
            parse(json!({"configuration": {"cpuCores": 4}, "apply": "later"})).unwrap_err(),
            [("#/apply".to_owned(), "must be \"now\" or \"nextStart\"".to_owned())]
        );
    }

    #[test]
    fn empty_missing_and_wrong_bodies_are_explained() {
        assert_eq!(
            parse(json!({})).unwrap_err(),
            [("#/configuration".to_owned(), "is required: give the fields to change".to_owned())]
        );
        assert_eq!(
            parse(json!({"configuration": {}})).unwrap_err(),
            [("#/configuration".to_owned(), "must name at least one field to change".to_owned())]
        );
        assert_eq!(
            parse(json!({"configuration": {"cpuCores": 4}, "name": "x"})).unwrap_err(),
            [("#/name".to_owned(), "is not a field of this request".to_owned())]
        );
        assert_eq!(
            parse(json!({"configuration": {"ram": 4}})).unwrap_err(),
            [("#/configuration/ram".to_owned(), "is not a field of the configuration".to_owned())]
        );
        assert!(parse(json!([1])).is_err());
    }

    #[test]
    fn auto_stop_alone_or_with_a_configuration() {
        let parsed =
            |body: Value| ReconfigureRequest::from_json(body).and_then(|r| r.parse(&current(), &catalog()));
        let only = parsed(json!({"autoStop": {"idleTimeoutSeconds": 600}})).unwrap();
        assert_eq!(only.configuration, None);
        assert_eq!(only.auto_stop, Some(AutoStopChoice { idle: Some(600), running: None }));
        let both =
            parsed(json!({"autoStop": {"runningTimeoutSeconds": 0}, "configuration": {"cpuCores": 4}}))
                .unwrap();
        assert!(both.configuration.is_some());
        assert_eq!(both.auto_stop, Some(AutoStopChoice { idle: None, running: Some(0) }));
        let pointers =
            |body: Value| parsed(body).unwrap_err().into_iter().map(|e| e.pointer).collect::<Vec<_>>();
        assert_eq!(pointers(json!({"autoStop": {}})), ["#/autoStop"]);
        assert_eq!(
            pointers(json!({"autoStop": {"idleTimeoutSeconds": 5}})),
            ["#/autoStop/idleTimeoutSeconds"]
        );
        assert_eq!(
            pointers(json!({"autoStop": {"idleTimeoutSeconds": 5}, "configuration": {"cpuCores": 0}})),
            ["#/autoStop/idleTimeoutSeconds", "#/configuration/cpuCores"]
        );
    }
}

use super::*;
use serde_json::json;

fn catalog() -> Catalog {
    use crate::domain::catalog::{GpuOption, Range, RegionOption};
    Catalog {
        cpu_cores: Range { min: 1, max: 128 },
        memory_gb: Range { min: 1, max: 1024 },
        storage_gb: Range { min: 16, max: 16384 },
        gpus: vec![
            GpuOption { id: "NVIDIA RTX A5000".into(), memory_gb: 24, description: String::new() },
            GpuOption { id: "NVIDIA L4".into(), memory_gb: 24, description: String::new() },
        ],
        regions: vec![
            RegionOption { id: "us-west-2".into(), name: "US West (Oregon)".into() },
            RegionOption { id: "eu-west-1".into(), name: "Europe (Ireland)".into() },
        ],
        capacity: Default::default(),
        auto_stop: crate::domain::AutoStopLimits {
            min_seconds: 60,
            defaults: crate::domain::AutoStop { idle_timeout_seconds: 1800, running_timeout_seconds: 0 },
        },
    }
}

fn valid() -> serde_json::Value {
    json!({
        "name": "My-New-Workstation",
        "configuration": {
            "cpuCores": 8, "memoryGB": 32, "gpu": "NVIDIA RTX A5000",
            "storageGB": 512, "region": "us-west-2"
        }
    })
}

fn parse(value: serde_json::Value) -> Result<WorkstationSpec, Vec<FieldError>> {
    CreateWorkstationRequest::from_json(value)?.parse(&catalog())
}

/// Applies `edit` to the valid request and returns the errors, sorted by pointer.
fn errors_after(edit: impl FnOnce(&mut serde_json::Value)) -> Vec<(String, String)> {
    let mut v = valid();
    edit(&mut v);
    let mut errors: Vec<_> = parse(v)
        .expect_err("expected validation errors")
        .into_iter()
        .map(|e| (e.pointer, e.detail))
        .collect();
    errors.sort();
    errors
}

fn one(pointer: &str, detail: &str) -> Vec<(String, String)> {
    vec![(pointer.to_owned(), detail.to_owned())]
}

#[test]
fn the_contract_example_is_valid() {
    let spec = parse(valid()).unwrap();
    assert_eq!(spec.name.as_str(), "My-New-Workstation");
    let c = &spec.configuration;
    assert_eq!(c.cpu_cores.get(), 8);
    assert_eq!(c.memory_gb.get(), 32);
    assert_eq!(c.gpu.as_str(), "NVIDIA RTX A5000");
    assert_eq!(c.storage_gb.get(), 512);
    assert_eq!(c.region.as_str(), "us-west-2");
}

#[test]
fn non_object_bodies_are_a_root_error() {
    for body in [json!([]), json!("x"), json!(1), json!(true), json!(null)] {
        let errors = parse(body).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].pointer, "#");
        assert!(errors[0].detail.starts_with("the request body must be a JSON object"));
    }
}

#[test]
fn an_empty_object_names_both_missing_fields() {
    let mut errors = parse(json!({})).unwrap_err();
    errors.sort_by(|a, b| a.pointer.cmp(&b.pointer));
    assert_eq!(
        errors,
        vec![FieldError::new("#/configuration", "is required"), FieldError::new("#/name", "is required"),]
    );
}

#[test]
fn every_missing_configuration_field_is_reported_at_once() {
    let errors = errors_after(|v| v["configuration"] = json!({}));
    let pointers: Vec<_> = errors.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        pointers,
        [
            "#/configuration/cpuCores",
            "#/configuration/gpu",
            "#/configuration/memoryGB",
            "#/configuration/region",
            "#/configuration/storageGB",
        ]
    );
    assert!(errors.iter().all(|(_, d)| d == "is required"));
}

#[test]
fn nulls_count_as_missing() {
    assert_eq!(errors_after(|v| v["name"] = json!(null)), one("#/name", "is required"));
    assert_eq!(
        errors_after(|v| v["configuration"]["gpu"] = json!(null)),
        one("#/configuration/gpu", "is required")
    );
    assert_eq!(errors_after(|v| v["configuration"] = json!(null)), one("#/configuration", "is required"));
}

#[test]
fn wrong_json_types_name_the_field_and_the_type() {
    assert_eq!(errors_after(|v| v["name"] = json!(5)), one("#/name", "must be a string, not a number"));
    assert_eq!(
        errors_after(|v| v["configuration"] = json!("big")),
        one("#/configuration", "must be an object, not a string")
    );
    assert_eq!(
        errors_after(|v| v["configuration"]["cpuCores"] = json!("8")),
        one("#/configuration/cpuCores", "must be a whole number, not a string")
    );
    assert_eq!(
        errors_after(|v| v["configuration"]["memoryGB"] = json!(true)),
        one("#/configuration/memoryGB", "must be a whole number, not a boolean")
    );
    assert_eq!(
        errors_after(|v| v["configuration"]["storageGB"] = json!([512])),
        one("#/configuration/storageGB", "must be a whole number, not an array")
    );
    assert_eq!(
        errors_after(|v| v["configuration"]["gpu"] = json!({"id": 1})),
        one("#/configuration/gpu", "must be a string, not an object")
    );
    assert_eq!(
        errors_after(|v| v["configuration"]["region"] = json!(2)),
        one("#/configuration/region", "must be a string, not a number")
    );
}

#[test]
fn floats_are_rejected_even_when_integral_in_value() {
    assert_eq!(
        errors_after(|v| v["configuration"]["cpuCores"] = json!(8.5)),
        one("#/configuration/cpuCores", "must be a whole number")
    );
    assert_eq!(
        errors_after(|v| v["configuration"]["memoryGB"] = json!(32.0)),
        one("#/configuration/memoryGB", "must be a whole number")
    );
}

#[test]
fn range_boundaries() {
    let cases = [
        ("cpuCores", 1, 128, "must be between 1 and 128"),
        ("memoryGB", 1, 1024, "must be between 1 GB and 1024 GB"),
        ("storageGB", 16, 16384, "must be between 16 GB and 16384 GB"),
    ];
    for (field, min, max, detail) in cases {
        let pointer = format!("#/configuration/{field}");
        for ok in [min, max] {
            let mut v = valid();
            v["configuration"][field] = json!(ok);
            assert!(parse(v).is_ok(), "{field} = {ok} should be valid");
        }
        for bad in [json!(min - 1), json!(max + 1), json!(-1), json!(i64::MIN), json!(u64::MAX)] {
            assert_eq!(
                errors_after(|v| v["configuration"][field] = bad.clone()),
                one(&pointer, detail),
                "{field} = {bad}"
            );
        }
    }
}

#[test]
fn name_rules() {
    for ok in ["a", "A", "0", "dev-box_1", &"x".repeat(63), "9lives"] {
        let mut v = valid();
        v["name"] = json!(ok);
        assert!(parse(v).is_ok(), "{ok:?} should be valid");
    }
    let cases = [
        ("", "must not be empty"),
        (&*"x".repeat(64), "must be at most 63 characters"),
        ("-box", "must start with a letter or a digit"),
        ("_box", "must start with a letter or a digit"),
        (" box", "must start with a letter or a digit"),
        ("my box", "may contain only letters, digits, '-' and '_' (found whitespace)"),
        ("box.1", "may contain only letters, digits, '-' and '_' (found '.')"),
        ("boxé", "may contain only letters, digits, '-' and '_' (found 'é')"),
        ("box\n", "may contain only letters, digits, '-' and '_' (found whitespace)"),
    ];
    for (name, detail) in cases {
        assert_eq!(errors_after(|v| v["name"] = json!(name)), one("#/name", detail), "{name:?}");
    }
    // Length counts characters, not bytes: 63 two-byte characters would be
    // too many bytes but are rejected for the character rule, not a panic.
    assert!(WorkstationName::parse(&"é".repeat(63)).is_err());
}

#[test]
fn unknown_gpu_and_region_list_the_choices() {
    assert_eq!(
        errors_after(|v| v["configuration"]["gpu"] = json!("RTX 9090")),
        one(
            "#/configuration/gpu",
            "is not an available GPU type; choose one of: NVIDIA RTX A5000, NVIDIA L4"
        )
    );
    assert_eq!(
        errors_after(|v| v["configuration"]["region"] = json!("mars-1")),
        one("#/configuration/region", "is not an available region; choose one of: us-west-2, eu-west-1")
    );
    // Matching is exact: no silent case folding.
    assert_eq!(errors_after(|v| v["configuration"]["region"] = json!("US-WEST-2")).len(), 1);
}

#[test]
fn unknown_fields_are_reported_with_escaped_pointers() {
    assert_eq!(
        errors_after(|v| v["configuration"]["memoryGb"] = json!(32)),
        one("#/configuration/memoryGb", "is not a field of the configuration")
    );
    assert_eq!(errors_after(|v| v["id"] = json!("ws-1")), one("#/id", "is not a field of this request"));
    assert_eq!(errors_after(|v| v["a/b~c"] = json!(1)), one("#/a~1b~0c", "is not a field of this request"));
}

#[test]
fn all_problems_are_reported_together() {
    let errors = errors_after(|v| {
        v["name"] = json!("");
        v["configuration"]["cpuCores"] = json!(0);
        v["configuration"]["gpu"] = json!("none");
    });
    let pointers: Vec<_> = errors.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(pointers, ["#/configuration/cpuCores", "#/configuration/gpu", "#/name"]);
}

#[test]
fn form_text_goes_through_the_same_parse() {
    let form = WorkstationForm {
        name: "dev-1".into(),
        cpu_cores: " 8 ".into(),
        memory_gb: "32".into(),
        gpu: "NVIDIA L4".into(),
        storage_gb: "512".into(),
        region: "eu-west-1".into(),
        idle_timeout: String::new(),
        running_timeout: "3600".into(),
    };
    let spec = CreateWorkstationRequest::from_form(&form).parse(&catalog()).unwrap();
    assert_eq!(spec.configuration.cpu_cores.get(), 8);
    assert_eq!(spec.configuration.region.as_str(), "eu-west-1");
    // A timeout left empty is the server's default.
    assert_eq!(
        spec.auto_stop,
        crate::domain::AutoStop { idle_timeout_seconds: 1800, running_timeout_seconds: 3600 }
    );

    let bad = WorkstationForm {
        name: String::new(),
        cpu_cores: "eight".into(),
        memory_gb: "1.5".into(),
        gpu: String::new(),
        storage_gb: "99999999999999999999999".into(),
        region: "  ".into(),
        idle_timeout: "10".into(),
        running_timeout: "1h".into(),
    };
    let mut errors = CreateWorkstationRequest::from_form(&bad).parse(&catalog()).unwrap_err();
    errors.sort_by(|a, b| a.pointer.cmp(&b.pointer));
    assert_eq!(
        errors,
        vec![
            FieldError::new(
                "#/autoStop/idleTimeoutSeconds",
                "must be 0 (never) or from 1 minute to 30 days (60–2592000 seconds)"
            ),
            FieldError::new("#/autoStop/runningTimeoutSeconds", "must be a whole number, not a string"),
            FieldError::new("#/configuration/cpuCores", "must be a whole number, not a string"),
            FieldError::new("#/configuration/gpu", "is required"),
            FieldError::new("#/configuration/memoryGB", "must be a whole number"),
            FieldError::new("#/configuration/region", "is required"),
            FieldError::new("#/configuration/storageGB", "must be between 16 GB and 16384 GB"),
            FieldError::new("#/name", "must not be empty"),
        ]
    );
}

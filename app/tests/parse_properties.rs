//! Properties of the shared `parse`: whatever JSON or form text arrives, the
//! answer is a spec or field errors, never a panic; valid specs round-trip.

use app::domain::{Catalog, Configuration, CreateWorkstationRequest, WorkstationForm};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

/// Any JSON value, nested a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter("JSON has no NaN or infinity", |f| f.is_finite()).prop_map(Value::from),
        ".{0,80}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A value for one field: usually near what the contract wants, sometimes anything.
fn field_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => (-10i64..20_000).prop_map(Value::from),
        2 => "[A-Za-z0-9 _.-]{0,70}".prop_map(Value::String),
        1 => Just(Value::from("NVIDIA L4")),
        1 => Just(Value::from("us-east-1")),
        1 => any_json(),
    ]
}

/// Objects shaped like a create request, with any value in each field and
/// fields missing at random.
fn request_like() -> impl Strategy<Value = Value> {
    let keys = ["cpuCores", "memoryGB", "gpu", "storageGB", "region", "extra"];
    (
        proptest::option::of(field_value()),
        prop::collection::vec(proptest::option::of(field_value()), keys.len()),
        prop_oneof![3 => Just(true), 1 => Just(false)],
    )
        .prop_map(move |(name, values, configuration_is_object)| {
            let mut configuration = Map::new();
            for (key, value) in keys.iter().zip(values) {
                if let Some(value) = value {
                    configuration.insert((*key).to_owned(), value);
                }
            }
            let mut body = Map::new();
            if let Some(name) = name {
                body.insert("name".into(), name);
            }
            body.insert(
                "configuration".into(),
                if configuration_is_object { Value::Object(configuration) } else { json!([1, 2]) },
            );
            Value::Object(body)
        })
}

/// Parses `body` as the API does; any failure must be explained field by field.
fn accepted_or_explained(body: Value) -> Result<(), TestCaseError> {
    let catalog = Catalog::embedded();
    if let Err(errors) = CreateWorkstationRequest::from_json(body).and_then(|r| r.parse(&catalog)) {
        prop_assert!(!errors.is_empty(), "a refusal without a reason");
        for e in errors {
            prop_assert!(e.pointer.starts_with('#'), "pointer {:?}", e.pointer);
            prop_assert!(!e.detail.trim().is_empty(), "an empty detail for {}", e.pointer);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_json_is_accepted_or_explained(body in any_json()) {
        accepted_or_explained(body)?;
    }

    #[test]
    fn request_shaped_json_is_accepted_or_explained(body in request_like()) {
        accepted_or_explained(body)?;
    }

    #[test]
    fn any_form_text_is_accepted_or_explained(
        fields in prop::collection::vec(".{0,40}", 8),
    ) {
        let form = WorkstationForm {
            name: fields[0].clone(),
            cpu_cores: fields[1].clone(),
            memory_gb: fields[2].clone(),
            gpu: fields[3].clone(),
            storage_gb: fields[4].clone(),
            region: fields[5].clone(),
            idle_timeout: fields[6].clone(),
            running_timeout: fields[7].clone(),
        };
        let catalog = Catalog::embedded();
        if let Err(errors) = CreateWorkstationRequest::from_form(&form).parse(&catalog) {
            prop_assert!(!errors.is_empty());
        }
    }

    #[test]
    fn valid_specs_round_trip(
        name in "[A-Za-z0-9][A-Za-z0-9_-]{0,62}",
        cpu in 0.0f64..1.0,
        memory in 0.0f64..1.0,
        storage in 0.0f64..1.0,
        gpu in any::<prop::sample::Index>(),
        region in any::<prop::sample::Index>(),
    ) {
        let catalog = Catalog::embedded();
        let pick = |r: app::domain::Range, at: f64| r.min + ((f64::from(r.max - r.min)) * at) as u32;
        let configuration = Configuration {
            cpu_cores: pick(catalog.cpu_cores, cpu),
            memory_gb: pick(catalog.memory_gb, memory),
            gpu: gpu.get(&catalog.gpus).id.clone(),
            storage_gb: pick(catalog.storage_gb, storage),
            region: region.get(&catalog.regions).id.clone(),
        };
        let body = json!({ "name": name, "configuration": configuration });
        let spec = CreateWorkstationRequest::from_json(body.clone())
            .and_then(|r| r.parse(&catalog))
            .map_err(|e| TestCaseError::fail(format!("a valid request was refused: {e:?}")))?;
        prop_assert_eq!(spec.name.as_str(), name.as_str());
        prop_assert_eq!(&Configuration::from(&spec), &configuration);
        // What the API answers parses again to the same spec.
        let again = json!({ "name": spec.name.as_str(), "configuration": Configuration::from(&spec) });
        prop_assert_eq!(again, body);
    }
}

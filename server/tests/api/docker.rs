//! The container provisioner against a real engine: the one
//! `scripts/engine.sh start` runs (Podman's Docker-compatible service),
//! named by `ATELIER_TEST_DOCKER_HOST`. `make test` starts it; without it
//! these tests say so and pass only outside CI.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use app::backend::engine::DockerOptions;
use bollard::query_parameters::{
    CreateContainerOptions, InspectContainerOptions, KillContainerOptions, RemoveContainerOptions,
};
use bollard::Docker;
use serde_json::{json, Value};
use server::ProvisionerChoice;

use crate::helpers::{problem, TestApp};

/// The engine's URL and a client of our own, to look behind Atelier's back.
pub fn engine() -> Option<(String, Docker)> {
    match std::env::var("ATELIER_TEST_DOCKER_HOST") {
        Ok(url) if !url.is_empty() => {
            let path = url.strip_prefix("unix://").expect("ATELIER_TEST_DOCKER_HOST is unix://…");
            let docker =
                Docker::connect_with_unix(path, 60, bollard::API_DEFAULT_VERSION).expect("engine client");
            Some((url, docker))
        }
        _ => {
            assert!(
                std::env::var("CI").is_err(),
                "CI runs the engine tests: start one with scripts/engine.sh and set ATELIER_TEST_DOCKER_HOST"
            );
            eprintln!("skipped: no ATELIER_TEST_DOCKER_HOST (scripts/engine.sh start prints one)");
            None
        }
    }
}

fn image() -> String {
    std::env::var("ATELIER_TEST_WORKSTATION_IMAGE")
        .unwrap_or_else(|_| app::backend::state::defaults::WORKSTATION_IMAGE.to_owned())
}

pub fn options(url: &str) -> DockerOptions {
    DockerOptions {
        default_host: url.to_owned(),
        image: image(),
        probe: vec!["true".into()],
        probe_timeout: Duration::from_secs(60),
        stop_timeout: Duration::from_secs(2),
        reconcile_every: Duration::from_millis(300),
        ..DockerOptions::default()
    }
}

pub async fn spawn(url: &str) -> TestApp {
    let options = options(url);
    TestApp::spawn_with(move |o| {
        o.provisioner = ProvisionerChoice::Docker(options);
        // The engine is slow when the whole suite runs at once on 2 cores.
        o.engine.job_timeout = Duration::from_secs(90);
    })
    .await
}

/// A small workstation: the engine's host has 2 cores.
pub fn small(name: &str, gpu: &str) -> Value {
    json!({
        "name": name,
        "configuration": {"cpuCores": 1, "memoryGB": 1, "gpu": gpu, "storageGB": 16, "region": "us-west-2"}
    })
}

/// Waits until the workstation is `status` with no job on it.
pub async fn settled(app: &TestApp, token: &str, id: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let ws = app.get_json(&format!("/v1/workstations/{id}"), token).await;
        if ws["status"] == status && ws.get("phase").is_none_or(Value::is_null) {
            return ws;
        }
        // A failure will not turn into what is awaited: say why at once.
        let failed = ws["status"] == "error" && status != "error";
        if Instant::now() >= deadline || failed {
            let history = app.get_json(&format!("/v1/workstations/{id}/history"), token).await;
            let said: Vec<String> = history["events"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| format!("{} {} {}", e["status"], e["phase"], e["message"]))
                .collect();
            panic!("not {status} in time: {ws}\n{}", said.join("\n"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The message of the workstation's newest status event (why it is as it is).
async fn reason(app: &TestApp, token: &str, id: &str) -> String {
    let history = app.get_json(&format!("/v1/workstations/{id}/history"), token).await;
    let events = history["events"].as_array().expect("events");
    let last = events.iter().rev().find(|e| e["kind"] == "status").expect("a status event");
    last["message"].as_str().unwrap_or_default().to_owned()
}

/// Runs `sh -c script` in the running container.
async fn run_in(docker: &Docker, container: &str, script: &str) -> String {
    use futures_util::StreamExt;
    let exec = docker
        .create_exec(
            container,
            bollard::models::ExecConfig {
                cmd: Some(vec!["sh".into(), "-c".into(), script.into()]),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .id;
    let mut out = String::new();
    if let bollard::exec::StartExecResults::Attached { mut output, .. } =
        docker.start_exec(&exec, None).await.unwrap()
    {
        while let Some(Ok(chunk)) = output.next().await {
            out.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
        }
    }
    out.trim().to_owned()
}

async fn inspect(docker: &Docker, id: &str) -> Option<bollard::models::ContainerInspectResponse> {
    docker.inspect_container(&format!("atelier-{id}"), None::<InspectContainerOptions>).await.ok()
}

#[tokio::test]
async fn a_workstation_is_a_container_with_its_limits_and_a_home_that_lasts() {
    let Some((url, docker)) = engine() else { return };
    let app = spawn(&url).await;
    let token = app.token_for("ada").await;
    let id = app.create(&token, &small("render-box", "NVIDIA L4")).await;
    settled(&app, &token, &id, "stopped").await;

    // Provisioned: a stopped container with the asked limits and labels, and a volume.
    let made = inspect(&docker, &id).await.expect("the container exists");
    let host = made.host_config.clone().unwrap();
    assert_eq!(host.nano_cpus, Some(1_000_000_000));
    assert_eq!(host.memory, Some(1 << 30));
    let labels = made.config.clone().unwrap().labels.unwrap();
    assert_eq!(labels["atelier.workstation"], id);
    assert_eq!(labels["atelier.owner"], "ada");
    assert_eq!(labels["atelier.storage-gb"], "16");
    assert_eq!(made.state.clone().unwrap().running, Some(false));
    let volume = docker.inspect_volume(&format!("atelier-{id}-home")).await.expect("the home volume exists");
    assert_eq!(volume.labels["atelier.workstation"], id);
    let events = app.get_json(&format!("/v1/workstations/{id}/history"), &token).await;
    let phases: Vec<&str> = events["events"]
        .as_array()
        .map_or(Vec::new(), |e| e.iter().filter_map(|e| e["phase"].as_str()).collect());
    for phase in
        ["checking-image", "creating-volume", "creating-container", "starting", "probing", "stopping"]
    {
        assert!(phases.contains(&phase), "{phase} missing from {phases:?}");
    }

    // Launched: it runs, and sees its limits from inside.
    app.act_ok(&token, &id, "launch").await;
    settled(&app, &token, &id, "running").await;
    let name = format!("atelier-{id}");
    let memory = run_in(
        &docker,
        &name,
        "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes",
    )
    .await;
    assert_eq!(memory, (1u64 << 30).to_string());
    let cpu = run_in(
        &docker,
        &name,
        "cat /sys/fs/cgroup/cpu.max 2>/dev/null || cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us",
    )
    .await;
    assert!(cpu.starts_with("100000"), "one core's quota, got {cpu}");
    run_in(&docker, &name, "echo kept > $HOME/note").await;

    // Stopped: the container exited.
    app.act_ok(&token, &id, "stop").await;
    settled(&app, &token, &id, "stopped").await;
    assert_eq!(inspect(&docker, &id).await.unwrap().state.unwrap().running, Some(false));

    // Reconfigured: the next start makes the container again with the new
    // limits, on the same home volume.
    let res = app
        .client
        .patch(app.url(&format!("/v1/workstations/{id}")))
        .bearer_auth(&token)
        .json(&json!({"configuration": {"cpuCores": 2, "memoryGB": 2, "storageGB": 32}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    app.act_ok(&token, &id, "launch").await;
    settled(&app, &token, &id, "running").await;
    let remade = inspect(&docker, &id).await.unwrap();
    assert_ne!(remade.id, made.id, "a new container");
    let host = remade.host_config.unwrap();
    assert_eq!(host.nano_cpus, Some(2_000_000_000));
    assert_eq!(host.memory, Some(2 << 30));
    assert_eq!(remade.config.unwrap().labels.unwrap()["atelier.storage-gb"], "32");
    assert_eq!(run_in(&docker, &name, "cat $HOME/note").await, "kept");

    // Deleted (running: stopped first): container and volume are gone.
    app.delete_and_wait(&token, &id).await;
    assert!(inspect(&docker, &id).await.is_none());
    assert!(docker.inspect_volume(&format!("atelier-{id}-home")).await.is_err());
}

#[tokio::test]
async fn what_happens_outside_atelier_reaches_the_workstation_live() {
    let Some((url, docker)) = engine() else { return };
    let app = spawn(&url).await;
    let token = app.token_for("ada").await;
    let killed = app.create(&token, &small("killed", "NVIDIA L4")).await;
    let removed = app.create(&token, &small("removed", "NVIDIA L4")).await;
    for id in [&killed, &removed] {
        settled(&app, &token, id, "stopped").await;
        app.act_ok(&token, id, "launch").await;
        settled(&app, &token, id, "running").await;
    }

    // Killed from outside: its stream says so, with the exit status, within 10 s.
    let mut stream = app.stream(&format!("/v1/workstations/{killed}/events"), &token, None).await;
    let options = KillContainerOptions { signal: "SIGKILL".into() };
    docker.kill_container(&format!("atelier-{killed}"), Some(options)).await.unwrap();
    let began = Instant::now();
    let said = loop {
        let event = stream.next_within(Duration::from_secs(10)).await.expect("an event within 10 s");
        let data: Value = serde_json::from_str(&event.data).unwrap();
        if data["kind"] == "status" && data["status"] == "error" {
            break data["message"].as_str().unwrap().to_owned();
        }
    };
    assert!(began.elapsed() < Duration::from_secs(10));
    assert!(said.contains("exited with status 137"), "{said}");

    // Removed from outside: an error that says so.
    let options = RemoveContainerOptions { force: true, ..Default::default() };
    docker.remove_container(&format!("atelier-{removed}"), Some(options)).await.unwrap();
    settled(&app, &token, &removed, "error").await;
    assert_eq!(reason(&app, &token, &removed).await, "Its container was removed outside Atelier");

    // A retry brings the killed one back (same container, same volume).
    app.act_ok(&token, &killed, "retry").await;
    settled(&app, &token, &killed, "stopped").await;

    // A labelled container with no workstation is counted, and left alone.
    let stray = format!("atelier-stray-{:08x}", rand::random::<u32>());
    let body = bollard::models::ContainerCreateBody {
        image: Some(image()),
        labels: Some(HashMap::from([("atelier.workstation".to_owned(), stray.clone())])),
        ..Default::default()
    };
    let options = CreateContainerOptions { name: Some(stray.clone()), ..Default::default() };
    docker.create_container(Some(options), body).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
        let count = metrics
            .lines()
            .find(|l| l.starts_with("atelier_orphan_containers{engine=\"default\"}"))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0);
        if count >= 1 {
            break;
        }
        assert!(Instant::now() < deadline, "the stray container was never counted: {metrics}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(docker.inspect_container(&stray, None::<InspectContainerOptions>).await.is_ok(), "left alone");
    let options = RemoveContainerOptions { force: true, ..Default::default() };
    docker.remove_container(&stray, Some(options)).await.unwrap();
    for id in [&killed, &removed] {
        app.delete_and_wait(&token, id).await;
    }
}

#[tokio::test]
async fn gpu_devices_are_the_capacity_and_never_shared() {
    let Some((url, docker)) = engine() else { return };
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog.toml");
    let mut text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../app/catalog.toml")).unwrap();
    text.push_str(&format!(
        "\n[[docker.hosts]]\nname = \"gpu-host\"\nregion = \"us-west-2\"\ndocker_host = \"{url}\"\n\
         gpu_request = \"none\"\ndevices = {{ \"NVIDIA L4\" = [\"0\", \"1\"] }}\n"
    ));
    std::fs::write(&catalog, text).unwrap();
    let options = options(&url);
    let app = TestApp::spawn_with(move |o| {
        o.provisioner = ProvisionerChoice::Docker(options);
        o.catalog = Some(catalog);
    })
    .await;
    let token = app.token_for("ada").await;

    // Two devices: of four creates at once, two are refused as capacity.
    let creates = (0..4).map(|n| {
        let body = small(&format!("gpu-{n}"), "NVIDIA L4");
        let req = app.post_json("/v1/workstations", &token, &body);
        async move { req.send().await.unwrap() }
    });
    let mut made = Vec::new();
    for res in futures_util::future::join_all(creates).await {
        match res.status().as_u16() {
            201 => made.push(res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()),
            _ => {
                let body = problem(res, 409).await;
                assert_eq!(body["type"], "/problems/insufficient-capacity");
            }
        }
    }
    assert_eq!(made.len(), 2);
    let mut devices = Vec::new();
    for id in &made {
        settled(&app, &token, id, "stopped").await;
        let labels = inspect(&docker, id).await.unwrap().config.unwrap().labels.unwrap();
        devices.push(labels["atelier.gpu-device"].clone());
    }
    devices.sort();
    assert_eq!(devices, ["0", "1"], "one device each");

    // Deleting one frees its device for the next.
    app.delete_and_wait(&token, &made[0]).await;
    let next = app.create(&token, &small("gpu-again", "NVIDIA L4")).await;
    settled(&app, &token, &next, "stopped").await;
    let labels = inspect(&docker, &next).await.unwrap().config.unwrap().labels.unwrap();
    let freed = if devices[0] == labels["atelier.gpu-device"] { &devices[0] } else { &devices[1] };
    assert_eq!(&labels["atelier.gpu-device"], freed);
    let other = inspect(&docker, &made[1]).await.unwrap().config.unwrap().labels.unwrap();
    assert_ne!(other["atelier.gpu-device"], labels["atelier.gpu-device"]);
    for id in [&made[1], &next] {
        app.delete_and_wait(&token, id).await;
    }
}

#[tokio::test]
async fn an_unreachable_engine_fails_the_job_by_name_and_is_used_again_when_back() {
    let Some((url, _docker)) = engine() else { return };
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("engine.sock");
    let socket = url.strip_prefix("unix://").unwrap().to_owned();
    let via = format!("unix://{}", link.display());
    let app = spawn(&via).await;
    let token = app.token_for("ada").await;

    // The engine's socket is not there: the job fails naming the engine.
    let id = app.create(&token, &small("patient", "NVIDIA L4")).await;
    settled(&app, &token, &id, "error").await;
    let why = reason(&app, &token, &id).await;
    assert_eq!(why, "Cannot reach the container engine default: its socket does not exist");
    let ready = app.get_json("/readyz", &token).await;
    assert_eq!(ready["engines"][0]["ok"], false, "{ready}");
    assert!(!ready.to_string().contains(&via), "no engine address without a token: {ready}");

    // Back: a retry goes through, and /readyz says so.
    std::os::unix::fs::symlink(&socket, &link).unwrap();
    app.act_ok(&token, &id, "retry").await;
    settled(&app, &token, &id, "stopped").await;
    let ready = app.get_json("/readyz", &token).await;
    assert_eq!(ready["engines"][0]["ok"], true, "{ready}");
    app.delete_and_wait(&token, &id).await;
}

#[tokio::test]
async fn a_missing_image_is_named_in_words() {
    let Some((url, _docker)) = engine() else { return };
    let mut options = options(&url);
    options.image = "localhost/atelier-missing:none".to_owned();
    let app = TestApp::spawn_with(move |o| o.provisioner = ProvisionerChoice::Docker(options)).await;
    let token = app.token_for("ada").await;
    let id = app.create(&token, &small("imageless", "NVIDIA L4")).await;
    settled(&app, &token, &id, "error").await;
    let why = reason(&app, &token, &id).await;
    assert!(
        why.starts_with("The image localhost/atelier-missing:none is not on the container engine default"),
        "{why}"
    );
    assert!(why.contains("pull or import it there first"), "{why}");
    app.delete_and_wait(&token, &id).await;
}

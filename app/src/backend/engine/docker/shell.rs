//! A process in a running container, through the engine's exec: the
//! terminal's shell (with a TTY) or one command (with pipes).

use bollard::exec::{ResizeExecOptions, StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use bollard::query_parameters::InspectContainerOptions;
use bollard::Docker;
use futures_util::StreamExt;

use super::host::{is_not_found, Host};
use super::spec::container_name;
use super::DockerProvisioner;
use crate::backend::engine::{BoxFuture, Failure, Shell, ShellControl, ShellRefusal, ShellRequest};
use crate::backend::store;
use crate::domain::Workstation;

struct Exec {
    docker: Docker,
    id: String,
}

impl ShellControl for Exec {
    fn resize(&self, cols: u16, rows: u16) -> BoxFuture<'_, Result<(), Failure>> {
        Box::pin(async move {
            let options = ResizeExecOptions { height: rows, width: cols };
            self.docker.resize_exec(&self.id, options).await.map_err(|e| {
                Failure(format!("cannot resize the terminal: {}", super::host::engine_words(&e)))
            })
        })
    }

    fn exit_code(&self) -> BoxFuture<'_, Option<i64>> {
        Box::pin(async move {
            // Set a moment after the output ends.
            for _ in 0..100 {
                let inspected = self.docker.inspect_exec(&self.id).await.ok()?;
                if inspected.running != Some(true) {
                    return inspected.exit_code;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            None
        })
    }
}

impl DockerProvisioner {
    pub(super) async fn open(&self, ws: &Workstation, request: &ShellRequest) -> Result<Shell, ShellRefusal> {
        let failed = ShellRefusal::Failed;
        let assignment = store::assignment(&self.pool, &ws.id).await.map_err(|e| failed(e.into()))?;
        let Some(host) = assignment.and_then(|a| self.host(&a.host)) else {
            return Err(failed(Failure("It has no container yet".to_owned())));
        };
        let docker = host.client().await.map_err(failed)?;
        let name = container_name(&ws.id);
        let running = docker.inspect_container(&name, None::<InspectContainerOptions>).await;
        host.saw(&running).await;
        match running {
            Ok(c) if c.state.as_ref().and_then(|s| s.running) == Some(true) => {}
            Ok(_) => return Err(failed(Failure("Its container is not running".to_owned()))),
            Err(e) if is_not_found(&e) => {
                return Err(failed(Failure("Its container was removed outside Atelier".to_owned())))
            }
            Err(e) => return Err(failed(host.failure("Looking for the container", &e))),
        }
        exec(host, &docker, &name, request, &self.options.home).await.map_err(failed)
    }
}

async fn exec(
    host: &Host,
    docker: &Docker,
    container: &str,
    request: &ShellRequest,
    home: &str,
) -> Result<Shell, Failure> {
    let mut env = vec![format!("HOME={home}")];
    if request.tty {
        env.push("TERM=xterm-256color".to_owned());
    }
    let config = ExecConfig {
        cmd: Some(request.command.clone()),
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        tty: Some(request.tty),
        env: Some(env),
        working_dir: Some(home.to_owned()),
        console_size: request.size.map(|(cols, rows)| vec![usize::from(rows), usize::from(cols)]),
        ..Default::default()
    };
    let made = docker.create_exec(container, config).await;
    host.saw(&made).await;
    let id = made.map_err(|e| host.failure("Starting the shell", &e))?.id;
    let options = StartExecOptions { detach: false, tty: request.tty, output_capacity: Some(64 * 1024) };
    let started = match docker.start_exec(&id, Some(options)).await {
        Ok(started) => started,
        Err(e) => {
            host.saw_error(&e).await;
            return Err(host.failure("Starting the shell", &e));
        }
    };
    let StartExecResults::Attached { output, input } = started else {
        return Err(Failure("the engine started the shell detached".to_owned()));
    };
    let control = Exec { docker: docker.clone(), id };
    if let Some((cols, rows)) = request.size {
        // Engines that ignore the create's console size take it now.
        let _ = control.resize(cols, rows).await;
    }
    let output = output
        .take_while(|chunk| std::future::ready(chunk.is_ok()))
        .filter_map(|chunk| std::future::ready(chunk.ok().map(|c| c.into_bytes().to_vec())));
    Ok(Shell { output: Box::pin(output), input, control: Box::new(control) })
}

//! Accepts TCP connections and serves HTTP/1.1 on each, with upgrades (the
//! terminal's WebSocket) and a graceful shutdown.
//!
//! `axum::serve` would do the same, but it first reads each connection's
//! opening bytes to tell HTTP/2 from HTTP/1.1 and hands them back through a
//! wrapper; hyper then reads the request after those bytes and grows its
//! 8 KB read buffer to 16 KB. Every open event stream is a connection, so
//! that is 8 KB more per stream (80 MB at 10,000 streams). Browsers speak
//! HTTP/1.1 to a plain-HTTP origin; a TLS proxy in front can offer HTTP/2.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::connect_info::IntoMakeServiceWithConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::{Service, ServiceExt};

/// Serves `router` on `listener` until `shutdown` resolves, then stops
/// accepting, lets every connection finish its request in flight, and
/// returns when the last one has closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let mut make: IntoMakeServiceWithConnectInfo<Router, SocketAddr> =
        router.into_make_service_with_connect_info::<SocketAddr>();
    let mut http = hyper::server::conn::http1::Builder::new();
    // The timer lets hyper drop a connection that sends no complete request
    // head within its default 30 s.
    http.timer(TokioTimer::new());
    // Stopping: dropping `stop` tells every connection; each holds a clone
    // of `closed`, whose `closed()` resolves when the last one has gone.
    let (stop, _) = watch::channel(());
    let (closed_tx, closed) = watch::channel(());
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Events are small writes that should leave at once.
        let _ = stream.set_nodelay(true);
        let Ok(service) = make.call(remote).await;
        let service = service.map_request(|req: http::Request<Incoming>| req.map(axum::body::Body::new));
        let connection = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let mut stopping = stop.subscribe();
        let closed = closed.clone();
        tokio::spawn(async move {
            let mut connection = std::pin::pin!(connection.with_upgrades());
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = stopping.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
            drop(closed);
        });
    }
    // No more connections: one made now is refused rather than left waiting.
    drop(listener);
    drop(stop);
    drop(closed);
    closed_tx.closed().await;
    Ok(())
}

/// A failed accept: a connection that went away before it was taken is
/// nothing; anything else (out of descriptors, most often) is logged, and
/// accepting pauses for a second so that connections can close.
async fn accept_failed(e: io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "cannot accept a connection");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

//! `keyward serve`: bind, build, serve until Ctrl-C or SIGTERM.

use anyhow::Context;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::startup::Application;

pub async fn run(config: Config) -> anyhow::Result<()> {
    let addr = config.server.listen_addr()?;
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let app = Application::build(&config, listener).await?;
    tracing::info!(
        addr = %app.local_addr(),
        store = app.keyward().store().backend(),
        "keyward is listening"
    );
    app.run_until(shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

//! A real headless browser for the API explorer test: Debian's `chromium`,
//! driven by playwright-core from npm (`make tools` installs both: chromium with
//! apt-get, playwright-core into `~/.cache/strata/browser`). playwright-core
//! downloads no browser of its own; it drives the one the machine has. A
//! missing one skips the test with a printed reason, except in CI (`CI=true`),
//! where it is a failure.

use std::path::PathBuf;
use std::process::Command;

use crate::validators::tools_dir;

/// Debian's chromium.
const CHROMIUM: &str = "/usr/bin/chromium";

/// Chromium and the playwright-core that drives it.
#[derive(Debug)]
pub struct Browser {
    module: PathBuf,
}

/// The browser, if chromium, node and playwright-core are installed.
pub fn browser() -> Option<Browser> {
    let module = tools_dir().join("browser/node_modules/playwright-core");
    let node = Command::new("node").arg("--version").output().is_ok();
    if !std::path::Path::new(CHROMIUM).is_file() {
        crate::process::unavailable(
            "chromium is not installed (apt-get install chromium; `make tools` does it)",
        );
        return None;
    }
    if !node || !module.join("package.json").is_file() {
        crate::process::unavailable(
            "playwright-core is not installed (npm install --prefix ~/.cache/strata/browser \
             playwright-core; `make tools` does it)",
        );
        return None;
    }
    Some(Browser { module })
}

impl Browser {
    /// Opens `url` in a fresh headless chromium (a new profile each time, no
    /// network but what the page asks for), runs `script` (the body of an
    /// async function given `page`) and returns what it printed on stdout, or
    /// everything it printed when it failed. Every console error and failed
    /// request of the page fails the run: a Content-Security-Policy violation
    /// shows up as both.
    pub fn run(&self, url: &str, script: &str) -> Result<String, String> {
        let profile = tempfile::tempdir().expect("a fresh profile directory");
        let driver = format!("{DRIVER_HEAD}{script}{DRIVER_TAIL}");
        let output = Command::new("node")
            .arg("-e")
            .arg(driver)
            .env("PLAYWRIGHT_MODULE", &self.module)
            .env("CHROMIUM", CHROMIUM)
            .env("PROFILE", profile.path())
            .env("PAGE_URL", url)
            .output()
            .expect("node runs");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if output.status.success() {
            Ok(stdout)
        } else {
            Err(format!(
                "{stdout}{}",
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }
}

/// Launches chromium with the flags a sandboxed CI machine needs, opens the
/// page and collects its complaints; the caller's script follows.
const DRIVER_HEAD: &str = r#"
const { chromium } = require(process.env.PLAYWRIGHT_MODULE);
(async () => {
  const context = await chromium.launchPersistentContext(process.env.PROFILE, {
    executablePath: process.env.CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const complaints = [];
  try {
    const page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(60000);
    page.on("console", (message) => {
      if (message.type() === "error") complaints.push(`console: ${message.text()}`);
    });
    page.on("pageerror", (error) => complaints.push(`page error: ${error.message}`));
    page.on("requestfailed", (request) =>
      complaints.push(`request failed: ${request.url()} ${request.failure().errorText}`));
    await page.goto(process.env.PAGE_URL);
"#;

const DRIVER_TAIL: &str = r#"
    if (complaints.length > 0) throw new Error(complaints.join("\n"));
  } finally {
    await context.close();
  }
})().catch((error) => {
  console.error(error.stack || String(error));
  process.exit(1);
});
"#;

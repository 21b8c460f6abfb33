//! What the control plane asks the runtime to run.

use std::path::PathBuf;

use cloudlet_config::ServiceSpec;

/// One service workload of an app at one revision.
#[derive(Clone, Debug)]
pub struct ServiceDeployment {
    pub app: String,
    pub spec: ServiceSpec,
    /// Changes whenever running instances must be replaced (new files, command, environment or checks);
    /// a change of only scale, route or limits keeps the revision and the instances.
    pub revision: String,
    /// The app's files; the working directory of every instance.
    pub workdir: PathBuf,
}

// Package samples holds wasmkube's sample apps: their guest programs (each in its own folder)
// and manifests. The manifests are embedded so `wk up` can deploy the sample app from any
// working directory.
package samples

import _ "embed"

// HelloManifest is samples/hello/hello.yaml: the hello Deployment and its NodePort Service.
//
//go:embed hello/hello.yaml
var HelloManifest []byte

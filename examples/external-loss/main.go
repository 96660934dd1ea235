// Command external-loss is a deepclust loss plugin, "center", built on the
// sdk packages: L = weight · mean ‖z‖². A deepclust host starts it; run by
// hand it explains that and exits.
package main

import "github.com/deepclust/deepclust/sdk/serve"

func main() {
	serve.Loss(&center{})
}

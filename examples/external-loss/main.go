// Command external-loss is a deepclust loss plugin, "center", built only on
// the sdk package: L = weight · mean ‖z‖². A deepclust host starts it; run by
// hand it explains that and exits.
package main

import "github.com/deepclust/deepclust/sdk"

func main() {
	sdk.Serve(&center{})
}

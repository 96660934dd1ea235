package sdk

import "fmt"

// CheckPlugin checks that p describes itself well (see CheckDescription)
// and implements the interface of its described kind.
func CheckPlugin(p Describer) error {
	d := p.Describe()
	if err := CheckDescription(d); err != nil {
		return err
	}
	var ok bool
	switch d.Kind {
	case KindEncoder:
		_, ok = p.(Encoder)
	case KindClusterer:
		_, ok = p.(Clusterer)
	case KindLoss:
		_, ok = p.(Loss)
	}
	if !ok {
		return fmt.Errorf("plugin %q describes itself as a %s but %T does not implement sdk.%s", d.Name, d.Kind, p, kindInterface(d.Kind))
	}
	return nil
}

func kindInterface(k Kind) string {
	switch k {
	case KindEncoder:
		return "Encoder"
	case KindClusterer:
		return "Clusterer"
	}
	return "Loss"
}

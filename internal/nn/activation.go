package nn

import (
	"fmt"
	"math"
)

// Activation is the nonlinearity applied after a layer.
type Activation uint8

// The activations, numbered as the encoders' saved states record them.
const (
	Linear Activation = iota
	ReLU
	LeakyReLU
	Sigmoid
)

// ParseActivation maps a config name (linear, relu, leaky_relu, sigmoid) to
// its Activation.
func ParseActivation(name string) (Activation, error) {
	for a := Linear; a <= Sigmoid; a++ {
		if a.String() == name {
			return a, nil
		}
	}
	return 0, fmt.Errorf("unknown activation %q (known: linear, relu, leaky_relu, sigmoid)", name)
}

// String names the activation as the config does.
func (a Activation) String() string {
	switch a {
	case Linear:
		return "linear"
	case ReLU:
		return "relu"
	case LeakyReLU:
		return "leaky_relu"
	case Sigmoid:
		return "sigmoid"
	}
	return fmt.Sprintf("activation(%d)", uint8(a))
}

// Apply replaces every value of y by act(y); slope is leaky ReLU's
// negative-side slope.
func (a Activation) Apply(y []float32, slope float32) {
	switch a {
	case ReLU:
		for i, v := range y {
			if v < 0 {
				y[i] = 0
			}
		}
	case LeakyReLU:
		for i, v := range y {
			if v < 0 {
				y[i] = v * slope
			}
		}
	case Sigmoid:
		for i, v := range y {
			y[i] = SigmoidOf(v)
		}
	}
}

// SigmoidOf is 1/(1+e^(−v)), computed in float64.
func SigmoidOf(v float32) float32 { return float32(1 / (1 + math.Exp(-float64(v)))) }

// Backprop writes into dst (which may alias g) the gradient with respect
// to the pre-activation, g·act′, given g = ∂L/∂y and the outputs y.
func (a Activation) Backprop(dst, g, y []float32, slope float32) {
	dst, y = dst[:len(g)], y[:len(g)]
	switch a {
	case Linear:
		copy(dst, g)
	case ReLU:
		for i, v := range g {
			if y[i] <= 0 {
				v = 0
			}
			dst[i] = v
		}
	case LeakyReLU:
		for i, v := range g {
			if y[i] <= 0 {
				v *= slope
			}
			dst[i] = v
		}
	case Sigmoid:
		for i, v := range g {
			s := y[i]
			dst[i] = v * s * (1 - s)
		}
	}
}

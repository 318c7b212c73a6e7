package config

import "os"

var logWriter = os.Stderr

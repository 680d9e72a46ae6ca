package httpapi_test

import (
	"os"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"
)

func TestMain(m *testing.M) { os.Exit(apitest.RunTests(m)) }

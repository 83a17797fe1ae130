// An echo (labstack) service: params, a group with its own middleware, JSON binding
// and JSON answers, and echo's own HTTP errors.
package main

import (
	"log"
	"net/http"

	"github.com/labstack/echo/v4"
	wasmserver "github.com/wasm-server/wasm-server/sdk/go"
)

type greeting struct {
	Name string `json:"name"`
}

func main() {
	e := echo.New()
	e.GET("/", func(c echo.Context) error { return c.String(http.StatusOK, "echo root\n") })
	g := e.Group("/v1", func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Response().Header().Set("X-Group", "v1")
			return next(c)
		}
	})
	g.GET("/hello/:name", func(c echo.Context) error {
		log.Printf("echo hello %s", c.Param("name"))
		return c.JSON(http.StatusOK, map[string]string{"hello": c.Param("name")})
	})
	g.POST("/greet", func(c echo.Context) error {
		var in greeting
		if err := c.Bind(&in); err != nil || in.Name == "" {
			return echo.NewHTTPError(http.StatusBadRequest, "name is required")
		}
		return c.JSON(http.StatusCreated, map[string]string{"greeting": "hi " + in.Name})
	})
	wasmserver.Handle(e)
}

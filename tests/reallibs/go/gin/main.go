// A gin service: gin's Logger and Recovery middleware, params, a group,
// JSON binding with validation, and a panic recovered into a 500.
package main

import (
	"net/http"

	"github.com/gin-gonic/gin"
	wasmserver "github.com/wasm-server/wasm-server/sdk/go"
)

type order struct {
	Item  string `json:"item" binding:"required"`
	Count int    `json:"count" binding:"required,min=1"`
}

func main() {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Logger(), gin.Recovery())
	r.GET("/", func(c *gin.Context) { c.String(http.StatusOK, "gin root\n") })
	v1 := r.Group("/v1")
	v1.GET("/things/:id", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"id": c.Param("id")}) })
	v1.POST("/orders", func(c *gin.Context) {
		var o order
		if err := c.ShouldBindJSON(&o); err != nil {
			c.JSON(http.StatusBadRequest, gin.H{"error": "invalid order"})
			return
		}
		c.JSON(http.StatusCreated, gin.H{"item": o.Item, "count": o.Count})
	})
	r.GET("/panic", func(c *gin.Context) { panic("gin handler panicked") })
	wasmserver.Handle(r)
}

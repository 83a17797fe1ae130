# wasm-server on Nomad: three stateless nodes and a demo Redis.
#   nomad var put nomad/jobs/wasm-server admin_token="$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
#   nomad job run deploy/nomad/wasm-server.nomad.hcl
job "wasm-server" {
  datacenters = ["dc1"]
  type        = "service"

  group "redis" {
    count = 1

    network {
      port "redis" {
        to = 6379
      }
    }

    service {
      name     = "wasm-server-redis"
      port     = "redis"
      provider = "nomad"

      check {
        type     = "tcp"
        interval = "5s"
        timeout  = "2s"
      }
    }

    # DEMO ONLY: no volume, no replication
    task "redis" {
      driver = "docker"

      config {
        image = "redis:7"
        ports = ["redis"]
        args  = ["--appendonly", "yes"]
      }

      resources {
        cpu    = 200
        memory = 256
      }
    }
  }

  group "nodes" {
    count = 3

    update {
      max_parallel     = 1
      min_healthy_time = "10s"
      healthy_deadline = "2m"
    }

    network {
      port "http" {
        to = 8080
      }
      port "admin" {
        to = 9090
      }
    }

    service {
      name     = "wasm-server"
      port     = "http"
      provider = "nomad"

      check {
        type     = "http"
        port     = "admin"
        path     = "/readyz"
        interval = "2s"
        timeout  = "1s"
      }
    }

    task "wasm-server" {
      driver = "docker"

      config {
        image = "wasm-server:latest"
        ports = ["http", "admin"]
        args  = ["up", "--config", "/local/runtime.toml"]
      }

      template {
        destination = "local/runtime.toml"
        data        = <<EOT
[server]
listen = ["0.0.0.0:8080"]
log_format = "json"

[admin]
listen = "0.0.0.0:9090"

[cluster]
{{ range nomadService "wasm-server-redis" }}redis_url = "redis://{{ .Address }}:{{ .Port }}/0"{{ end }}

[key_value_store.default]
type = "redis"
{{ range nomadService "wasm-server-redis" }}url = "redis://{{ .Address }}:{{ .Port }}/1"{{ end }}
EOT
      }

      template {
        destination = "secrets/admin.env"
        env         = true
        data        = <<EOT
WASM_SERVER_ADMIN_TOKEN={{ with nomadVar "nomad/jobs/wasm-server" }}{{ .admin_token }}{{ end }}
EOT
      }

      resources {
        cpu    = 1000
        memory = 512
      }
    }
  }
}

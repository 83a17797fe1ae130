module wagi-hello

go 1.24

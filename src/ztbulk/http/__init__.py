"""`ztbulk serve`: the HTTP service, thin over the library API (`jobs.api`, `registry.service`).

`app` builds the application; `runtime` is how it runs jobs and opens the registry (one
request at a time, never kept open); `deps` who a request acts as (its bearer token);
`jobs` and `accounts` the /v1 routes, `views` a job as the API shows it, `uploads` a body
streamed into the spool, `status` the signed status page, `problems` errors as RFC 9457
documents, `web` the web page.
"""

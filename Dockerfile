# reportcluster node image: one image for every node of docker-compose.cluster.yml.
#
#   docker build -t reportcluster-node .
#
# Stage 1 builds the node with Maven; stage 2 is a JRE with the node's jar, its runtime
# dependencies (lib/) and the run profiles (config/). The container starts one node with the
# compose profile (config/compose.conf): PostgreSQL journal, Redis mirror and discovery,
# Cluster Bootstrap, fast-failover timings. Its REPORTS_* environment variables override it.

# ---- stage 1: build -------------------------------------------------------------------------
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src

# The POMs alone first: the dependency download below stays a cached layer until a POM changes,
# so editing sources does not download the world again. (go-offline skips the reactor's own
# modules, which do not exist yet.) The image holds the node only: the operator tools' POM is
# there because the reactor lists the module, and -pl node -am leaves the tools out.
COPY pom.xml ./
COPY protocol/pom.xml protocol/
COPY node/pom.xml node/
COPY tools/pom.xml tools/
RUN mvn -B -q -pl node -am dependency:go-offline

# Then the sources, and the build itself (tests run in CI, not in the image build).
COPY protocol/src protocol/src
COPY node/src node/src
RUN mvn -B -DskipTests -pl node -am package \
 && mkdir -p /out \
 && cp node/target/reportcluster-node-[0-9]*.jar /out/reportcluster-node.jar \
 && cp -r node/target/lib /out/lib

# ---- stage 2: run ---------------------------------------------------------------------------
FROM eclipse-temurin:17-jre

# A fixed, unprivileged account: the node needs no root (ports above 1024, writes nothing to
# disk with the compose profile: the journal is in PostgreSQL, logs go to stdout).
RUN groupadd --system --gid 10001 reports \
 && useradd --system --uid 10001 --gid reports --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin reports

WORKDIR /app
# Dependencies before the node's own jar: they change less often, so their layer is reused.
COPY --from=build /out/lib/ /app/lib/
COPY --from=build /out/reportcluster-node.jar /app/reportcluster-node.jar
COPY config/ /app/config/

USER reports

# 8080: REST API, SSE, dashboard, /metrics. 8558: pekko-management (health checks /ready and
# /alive, cluster read endpoints, Cluster Bootstrap contact point). 25520: Artery remoting.
EXPOSE 8080 8558 25520

# Exec form: the JVM is PID 1 and gets docker stop's SIGTERM itself, so the node leaves the
# cluster gracefully (in-flight LLM calls drain, shards hand over) before it exits.
# MaxRAMPercentage sizes the heap from the container's memory limit. Extra JVM flags:
# JAVA_TOOL_OPTIONS; another profile: mount it over /app/config/compose.conf.
ENTRYPOINT ["java", "-XX:MaxRAMPercentage=75", "-Dconfig.file=/app/config/compose.conf", "-cp", "/app/reportcluster-node.jar:/app/lib/*", "io.reportcluster.node.Main"]

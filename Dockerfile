# The strangler command in a container: every service (capture, sync engine, writer, validator, router) is
# `strangler run --services ...` with the same image and the same YAML (see docker-compose.yml, k8s/).
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY . .
RUN ./mvnw -B -q install -DskipTests -pl cli -am

FROM eclipse-temurin:17-jre
WORKDIR /app
COPY --from=build /src/cli/target/strangler-cli-0.1.0-SNAPSHOT.jar /app/strangler-cli.jar
COPY --from=build /src/cli/target/lib /app/lib
# 8080: /health, /metrics and the dashboard; 8000: the router's proxy port; 8001: the router's admin API
EXPOSE 8080 8000 8001
ENTRYPOINT ["java", "-XX:MaxRAMPercentage=75", "-cp", "/app/strangler-cli.jar:/app/lib/*", "dev.strangler.cli.Main"]
CMD ["--help"]

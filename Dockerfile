# The Container Control Core with the example adapter, on a distroless base.
# Base images are build arguments so a site can point at its own mirror; docker/stand-in-bases.sh
# assembles local stand-ins from Debian packages where no registry is reachable.
ARG BUILDER_IMAGE=eclipse-temurin:25-jdk
ARG RUNTIME_IMAGE=gcr.io/distroless/base-debian12

FROM ${BUILDER_IMAGE} AS build
WORKDIR /src
# The ccc-exec helper and the bin/ccc launcher are C: bring a compiler where the JDK image has none.
RUN command -v cc >/dev/null || (apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*)
COPY . .
RUN ./mvnw -B -q package -DskipTests \
 && test -x modules/ccc.core/target/native/ccc-exec \
 && test -x modules/ccc.core/target/native/ccc-launcher \
 && cp -a jlink/target/ccc /opt/ccc \
 && cp modules/ccc.adapter.example/flows.txt /opt/ccc/conf/ccc/flows.txt \
 && rm -f /opt/ccc/lib/ccc.aot \
 # Record the ahead-of-time cache where the image runs the core, from a training run.
 && LOG_LEVEL=ERROR /opt/ccc/bin/java -XX:AOTCacheOutput=/opt/ccc/lib/ccc.aot --enable-native-access=ccc.core \
      -m ccc.core/ccc.core.Main --training-run \
 && mkdir -p /out/home/app_user

FROM ${RUNTIME_IMAGE}
COPY --from=build /opt/ccc /opt/ccc
COPY docker/passwd /etc/passwd
COPY docker/group /etc/group
COPY --from=build --chown=1000:1000 /out/home/app_user /home/app_user
# The core runs as root, for privileged hooks and traffic control; the workload runs as app_user
# (run_as_user in the example configuration, conf/ccc/config.yaml in the runtime image).
USER 0
WORKDIR /opt/ccc
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s CMD ["/opt/ccc/bin/java", "-XX:TieredStopAtLevel=1", "-m", "ccc.core/ccc.core.Main", "--probe"]
# bin/ccc is a static program that execs bin/java with the AOT cache, native access and CCC_JAVA_OPTIONS:
# the JVM is the container's process 1 and gets its signals. `ccc ctl` runs the same way (kubectl exec).
ENTRYPOINT ["/opt/ccc/bin/ccc"]

package dev.strangler.cli;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

/**
 * Keeps the module arrows of DESIGN.md pointing one way. The cli module sees every module's classes,
 * so the rules for all of them live here.
 */
class ModuleArchitectureTest {

    private static final JavaClasses CLASSES = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.strangler");

    @Test
    void coreDependsOnNothingOfOursAndNoInfrastructure() {
        noClasses().that().resideInAPackage("dev.strangler.core..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.strangler.connectors..", "dev.strangler.syncengine..",
                        "dev.strangler.sandbox..", "dev.strangler.cli..", "dev.strangler.benchmarks..", "dev.strangler.router..",
                        "org.apache.kafka..", "java.sql..", "com.sun.net.httpserver..", "io.micrometer..", "io.vertx..")
                .because("core holds the model and pure transforms; move Kafka, JDBC, HTTP or metrics code to connectors, "
                        + "sync-engine or cli and pass core types to it (DESIGN.md, Modules)")
                .check(CLASSES);
    }

    @Test
    void connectorsDependOnlyOnCore() {
        noClasses().that().resideInAPackage("dev.strangler.connectors..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.strangler.syncengine..", "dev.strangler.sandbox..",
                        "dev.strangler.cli..", "dev.strangler.benchmarks..", "org.apache.kafka.streams..")
                .because("connectors may depend on core only; a need for sync-engine or cli code means the code belongs there")
                .check(CLASSES);
    }

    @Test
    void syncEngineDependsOnlyOnCoreAndConnectors() {
        noClasses().that().resideInAPackage("dev.strangler.syncengine..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.strangler.sandbox..", "dev.strangler.cli..", "dev.strangler.benchmarks..",
                        "java.sql..")
                .because("the sync engine reads and writes Kafka only; database access belongs to connectors")
                .check(CLASSES);
    }

    @Test
    void validatorDependsOnlyOnCoreAndConnectors() {
        noClasses().that().resideInAPackage("dev.strangler.validator..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.strangler.syncengine..", "dev.strangler.sandbox..",
                        "dev.strangler.cli..", "dev.strangler.benchmarks..", "org.apache.kafka.streams..")
                .because("the validator compares databases; it may use core and connectors only (DESIGN.md, Modules)")
                .check(CLASSES);
    }

    @Test
    void routerDependsOnlyOnCoreAndConnectors() {
        noClasses().that().resideInAPackage("dev.strangler.router..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.strangler.syncengine..", "dev.strangler.validator..",
                        "dev.strangler.sandbox..", "dev.strangler.cli..", "dev.strangler.benchmarks..", "java.sql..",
                        "org.apache.kafka.streams..")
                .because("the router moves HTTP requests and follows the routes topic; what it needs to know about the data "
                        + "(lag, consistency) comes in through ReplicationHealth, implemented by the process that runs it")
                .check(CLASSES);
    }

    @Test
    void sandboxDependsOnlyOnCore() {
        noClasses().that().resideInAPackage("dev.strangler.sandbox..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.strangler.connectors..", "dev.strangler.syncengine..",
                        "dev.strangler.validator..", "dev.strangler.cli..", "dev.strangler.benchmarks..")
                .because("the sandbox provides servers to everything else and must not know the pipeline")
                .check(CLASSES);
    }

    @Test
    void internalPackagesAreNotUsedFromOtherModules() {
        noClasses().that().resideOutsideOfPackages("dev.strangler.core..")
                .should().dependOnClassesThat().resideInAPackage("dev.strangler.core.internal..")
                .because("core's internal package is not part of its public face; add what you need to a public type of core")
                .check(CLASSES);
        noClasses().that().resideOutsideOfPackages("dev.strangler.connectors..")
                .should().dependOnClassesThat().resideInAPackage("dev.strangler.connectors.internal..")
                .because("connectors' internal package is not part of its public face")
                .check(CLASSES);
        noClasses().that().resideOutsideOfPackages("dev.strangler.syncengine..")
                .should().dependOnClassesThat().resideInAPackage("dev.strangler.syncengine.internal..")
                .because("the sync engine's internal package is not part of its public face")
                .check(CLASSES);
        noClasses().that().resideOutsideOfPackages("dev.strangler.router..")
                .should().dependOnClassesThat().resideInAPackage("dev.strangler.router.internal..")
                .because("the router's internal package is not part of its public face; TrafficRouter, RouteControl and "
                        + "RouteState are")
                .check(CLASSES);
        noClasses().that().resideOutsideOfPackages("dev.strangler.validator..")
                .should().dependOnClassesThat().resideInAPackage("dev.strangler.validator.internal..")
                .because("the validator's internal package is not part of its public face")
                .check(CLASSES);
    }

    @Test
    void onlyTheCliWritesToStandardOutput() {
        noClasses().that().resideOutsideOfPackages("dev.strangler.cli..", "dev.strangler.benchmarks..")
                .should().accessField(System.class, "out")
                .because("log through SLF4J with the component in the MDC; only the CLI prints to the console (STYLE.md 13)")
                .check(CLASSES);
    }
}

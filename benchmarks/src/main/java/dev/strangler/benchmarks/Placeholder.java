package dev.strangler.benchmarks; final class Placeholder {}

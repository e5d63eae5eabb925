package dev.strangler.syncengine; final class Placeholder {}

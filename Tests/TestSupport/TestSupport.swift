import Persistence
public enum TestSupportMarker {}

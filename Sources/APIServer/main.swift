print("apiserver")

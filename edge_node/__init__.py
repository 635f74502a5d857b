"""edge_node"""

"""user_agent"""
